import { BridgeError } from './errors.ts';

/**
 * Exponential reconnect delays: initial, 2x, 4x, ... capped at max; reset() after a success.
 * No jitter: one gateway reconnects to one local port, so there is no herd to spread out, and
 * deterministic delays keep reconnect tests exact.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {
    if (!(initialMs > 0) || !(maxMs >= initialMs)) {
      throw new BridgeError('EINVALID_OPTION', `backoff needs 0 < initialMs <= maxMs, got ${initialMs} and ${maxMs}`);
    }
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
