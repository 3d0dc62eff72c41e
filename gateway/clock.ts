/**
 * Injected time. Every component that schedules or timestamps takes a Clock, so tests drive
 * schedules without sleeping and the store can reason about an untrusted wall clock.
 */
export interface Clock {
  /** Wall-clock time, ms since the Unix epoch (may jump when NTP syncs). */
  now(): number;
  /** Monotonic time in ms (never jumps; origin arbitrary). */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

export interface TimerHandle {
  unref?(): unknown;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

interface ManualTimer extends TimerHandle {
  at: number;
  fn: () => void;
  everyMs: number | null;
  cancelled: boolean;
}

/** A clock for tests: time moves only when `advance` is called; timers fire in order. */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private timers: ManualTimer[] = [];

  constructor(startWallMs = Date.UTC(2026, 0, 1)) {
    this.wall = startWallMs;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  /** Moves the wall clock only, as NTP does; monotonic time and timers are unaffected. */
  jumpWall(deltaMs: number): void {
    this.wall += deltaMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
  }

  clearInterval(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
  }

  /** Advances both clocks by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.at <= end)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.wall += due.at - this.mono;
      this.mono = due.at;
      if (due.everyMs === null) due.cancelled = true;
      else due.at += due.everyMs;
      due.fn();
    }
    this.wall += end - this.mono;
    this.mono = end;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  private add(fn: () => void, ms: number, everyMs: number | null): ManualTimer {
    const t: ManualTimer = { at: this.mono + Math.max(0, ms), fn, everyMs, cancelled: false, unref: () => t };
    this.timers.push(t);
    return t;
  }
}
