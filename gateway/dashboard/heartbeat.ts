import type { Clock, TimerHandle } from '../clock.ts';

/** Default ping interval: a dead socket (phone left the Wi-Fi) is found within two intervals. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

/** What the heartbeat needs from a socket (a `ws` WebSocket satisfies it). */
export interface HeartbeatTarget {
  ping(): void;
  terminate(): void;
}

/**
 * Ping/pong liveness. Every interval each tracked socket that answered the previous ping is
 * pinged again; one that did not is terminated and reported to `onDead`. TCP alone can take
 * hours to notice a peer that vanished without a FIN, holding a client slot and its buffers.
 */
export class Heartbeat<T extends HeartbeatTarget> {
  private readonly alive = new Map<T, boolean>();
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly onDead: (target: T) => void,
    /** Called at every tick after the pings (the hub's application-level keepalive). */
    private readonly onTick: () => void = () => {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = this.clock.setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) this.clock.clearInterval(this.timer);
    this.timer = null;
    this.alive.clear();
  }

  track(target: T): void {
    this.alive.set(target, true);
  }

  untrack(target: T): void {
    this.alive.delete(target);
  }

  /** Call on every pong from `target`. */
  pong(target: T): void {
    if (this.alive.has(target)) this.alive.set(target, true);
  }

  get size(): number {
    return this.alive.size;
  }

  private tick(): void {
    this.pingAll();
    this.onTick();
  }

  private pingAll(): void {
    for (const [target, answered] of this.alive) {
      if (!answered) {
        this.alive.delete(target);
        target.terminate();
        this.onDead(target);
        continue;
      }
      this.alive.set(target, false);
      try {
        target.ping();
      } catch {
        // ping() throws only on a socket that is not open; the next tick terminates it.
      }
    }
  }
}
