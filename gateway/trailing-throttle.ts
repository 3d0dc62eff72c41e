import type { Clock, TimerHandle } from './clock.ts';

/**
 * Runs `run` on request, at most once per `minIntervalMs`: a request within the interval after
 * the last run started, or while a run (when `run` returns a promise) is still in progress, is
 * answered by one more run at the end of it; further requests until then add nothing. So a burst
 * costs two runs, and the last request is always followed by a run. Used for the retained sync
 * status (latest wins) and Home Assistant's birth republish.
 */
export class TrailingThrottle {
  private lastAt = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly minIntervalMs: number,
    private readonly run: () => void | Promise<void>,
  ) {
    if (!(minIntervalMs >= 0)) throw new RangeError(`minIntervalMs must be >= 0 (got ${minIntervalMs})`);
  }

  request(): void {
    if (this.timer !== null || this.stopped) return;
    const wait = this.lastAt + this.minIntervalMs - this.clock.monotonic();
    if (wait <= 0 && this.running === null) return this.fire();
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        if (this.running) void this.running.then(() => this.request());
        else this.fire();
      },
      Math.max(0, wait),
    );
    this.timer.unref?.();
  }

  /** Cancels a pending run, refuses later requests, and resolves once a run in progress ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private fire(): void {
    if (this.stopped) return;
    this.lastAt = this.clock.monotonic();
    const result = this.run();
    if (!result) return;
    this.running = result.finally(() => {
      this.running = null;
    });
  }
}
