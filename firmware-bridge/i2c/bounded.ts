import type { Clock } from '../../gateway/clock.ts';
import { I2cError } from './errors.ts';

/**
 * Settles like `promise`, or rejects with ETIMEDOUT after `ms` on `clock`. The timer is cleared
 * either way, so nothing is left scheduled. `promise` itself keeps running: I2C transfers
 * cannot be cancelled once handed to the kernel.
 */
export function bounded<T>(promise: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      reject(new I2cError('ETIMEDOUT', `${what} did not finish within ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
