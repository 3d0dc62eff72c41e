import { I2cError } from './errors.ts';

/**
 * Runs async operations one at a time in call order, with a bound on how many may wait.
 * Why: i2c-bus keeps one file descriptor per device address and runs each transfer on the libuv
 * thread pool, so two drivers sharing one bus object could otherwise interleave a command write
 * and its read. The bound keeps a wedged bus from growing an unbounded backlog of polls.
 */
export class OpQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** @param maxPending operations allowed in flight plus waiting; one more rejects with EBUSY. */
  constructor(private readonly maxPending: number) {}

  run<T>(op: () => Promise<T>): Promise<T> {
    if (this.pending >= this.maxPending) {
      return Promise.reject(new I2cError('EBUSY', `I2C bus queue is full (${this.maxPending} operations pending)`));
    }
    this.pending++;
    const result = this.tail.then(op);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.tail = settled;
    void settled.then(() => {
      this.pending--;
    });
    return result;
  }
}
