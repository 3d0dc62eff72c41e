// Reconnect delays of the page's WebSocket. Pure.

/** First retry after about 1 s, doubling up to 30 s: a rebooting gateway is back within a minute. */
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;

/**
 * Delay before reconnect attempt `attempt` (0 for the first). Jittered to 50..100 % of the
 * exponential step so a dozen tabs do not all hit a restarted gateway in the same millisecond.
 */
export function backoffDelayMs(attempt, random = Math.random) {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(step * (0.5 + 0.5 * random()));
}
