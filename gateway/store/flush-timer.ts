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
): () => void {
  if (!Number.isSafeInteger(flushIntervalMs) || flushIntervalMs < 1 || flushIntervalMs > 3_600_000) {
    throw new StoreError('STORE_INVALID_ARGUMENT', `flushIntervalMs must be an integer from 1 to 3600000 (got ${flushIntervalMs})`);
  }
  const tick = (): void => {
    try {
      store.flush();
    } catch (err) {
      try {
        onError(err);
      } catch {
        // A throwing error handler must not kill the timer; the next tick retries anyway.
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
