import type { Clock } from '../clock.ts';
import { StoreError } from './errors.ts';
import type { ReadingStore } from './store.ts';

/** Default flush interval in ms: at most this much data is at risk on a crash of the process. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;

/**
 * Flushes `store` every `flushIntervalMs` on `clock`; returns a function that stops the timer
 * (it does not flush: the store's close() does). A failing flush (SQLITE_FULL, SQLITE_IOERR...)
 * leaves the readings in the store's bounded buffer; the error goes to `onError` and the next
 * tick retries. `onError` is the one error route: the timer never throws into the event loop.
 */
export function startFlushTimer(
  store: ReadingStore,
  clock: Clock,
  flushIntervalMs: number = DEFAULT_FLUSH_INTERVAL_MS,
  onError: (err: unknown) => void,
  /** Called on the first good flush after failing ones, with how many ticks failed. */
  onRecovered?: (failedTicks: number) => void,
): () => void {
  if (!Number.isSafeInteger(flushIntervalMs) || flushIntervalMs < 1 || flushIntervalMs > 3_600_000) {
    throw new StoreError('STORE_INVALID_ARGUMENT', `flushIntervalMs must be an integer from 1 to 3600000 (got ${flushIntervalMs})`);
  }
  let failedTicks = 0;
  const tick = (): void => {
    try {
      store.flush();
    } catch (err) {
      failedTicks++;
      try {
        onError(err);
      } catch {
        // A throwing error handler must not kill the timer; the next tick retries anyway.
      }
      return;
    }
    if (failedTicks > 0) {
      const n = failedTicks;
      failedTicks = 0;
      try {
        onRecovered?.(n);
      } catch {
        // as above
      }
    }
  };
  const handle = clock.setInterval(tick, flushIntervalMs);
  handle.unref?.();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clock.clearInterval(handle);
  };
}

/**
 * An error route for a timer that fails on every tick while a condition lasts (a full disk
 * fails the flush every second): the first failure is logged at once, later ones at most once
 * per `everyMs` with how many were held back, so a full SD card is not also filled with logs.
 */
export function throttledFailureLog(clock: Clock, everyMs: number, log: (err: unknown, suppressed: number) => void): { onError: (err: unknown) => void; reset: () => void } {
  let lastMs: number | null = null;
  let suppressed = 0;
  return {
    onError(err) {
      const now = clock.now();
      if (lastMs !== null && now - lastMs < everyMs) {
        suppressed++;
        return;
      }
      lastMs = now;
      const n = suppressed;
      suppressed = 0;
      log(err, n);
    },
    reset() {
      lastMs = null;
      suppressed = 0;
    },
  };
}
