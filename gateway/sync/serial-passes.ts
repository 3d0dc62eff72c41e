import type { Clock, TimerHandle } from '../clock.ts';

/**
 * Runs `pass` firstDelayMs after start(), then intervalMs after each pass has ended: one pass
 * at a time, so a pass that outlasts the interval is never doubled, the next one simply waits.
 * `pass` must not reject (its errors are the caller's to route).
 */
export class SerialPasses {
  private timer: TimerHandle | null = null;
  private inFlight: Promise<void> | null = null;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<void>,
  ) {
    if (!(intervalMs >= 1)) throw new RangeError(`the interval must be >= 1 ms (got ${intervalMs})`);
  }

  start(firstDelayMs: number): void {
    if (this.running) return;
    this.running = true;
    this.schedule(firstDelayMs);
  }

  /** Stops the timer and waits for a pass in flight to end. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.inFlight = this.pass().finally(() => {
        this.inFlight = null;
        this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref?.();
  }
}
