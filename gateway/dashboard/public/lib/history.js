// The long view of a sensor: per-bucket means of humidity (one point per minute by default),
// as parallel columns. Pure: no DOM. Used by the server to build a snapshot's history and by the
// page to fold readings that leave its raw one-hour window into that history, so the chart
// shows 24 h while the page keeps a bounded number of points.
import { usable } from './trend.js';

/** How far back the chart reaches: 24 h. */
export const HISTORY_WINDOW_MS = 86_400_000;
/** One point per minute: 1440 points draw 24 h smoothly on any screen. */
export const HISTORY_BUCKET_MS = 60_000;

export function emptyHistory(bucketMs = HISTORY_BUCKET_MS) {
  return { bucketMs, tMs: [], rh: [], n: [] };
}

/**
 * Adds readings (oldest first, none older than the history's last bucket) to the history:
 * each usable reading is averaged into the bucket that contains it; a reading in the last
 * bucket merges into it (the per-bucket count `n` keeps the mean exact). Unusable readings
 * (no value, or flagged faulty) are left out.
 */
export function foldReadings(history, readings) {
  const { bucketMs, tMs, rh, n } = history;
  for (const r of readings) {
    if (!usable(r)) continue;
    const start = Math.floor(r.wallTimeMs / bucketMs) * bucketMs;
    const last = tMs.length - 1;
    if (last >= 0 && tMs[last] === start) {
      const count = n[last] + 1;
      rh[last] = rh[last] + (r.rh - rh[last]) / count;
      n[last] = count;
    } else if (last < 0 || tMs[last] < start) {
      tMs.push(start);
      rh.push(r.rh);
      n.push(1);
    }
    // A reading older than the last bucket would need an insert; readings arrive in time order
    // and leave the raw window in that order, so it is dropped rather than reordering columns.
  }
  return history;
}

/** Drops buckets that start before `sinceMs`. */
export function trimHistory(history, sinceMs) {
  let drop = 0;
  while (drop < history.tMs.length && history.tMs[drop] < sinceMs) drop++;
  if (drop > 0) for (const col of [history.tMs, history.rh, history.n]) col.splice(0, drop);
  return history;
}

/** Per-bucket means of `readings` (oldest first), rounded to 2 decimals for the wire. */
export function bucketMeans(readings, bucketMs = HISTORY_BUCKET_MS) {
  const h = foldReadings(emptyHistory(bucketMs), readings);
  h.rh = h.rh.map((v) => Math.round(v * 100) / 100);
  return h;
}

/** Whether `v` looks like a history (a snapshot from an older gateway has none). */
export function isHistory(v) {
  return (
    typeof v === 'object' && v !== null && Number.isFinite(v.bucketMs) && v.bucketMs > 0 &&
    Array.isArray(v.tMs) && Array.isArray(v.rh) && Array.isArray(v.n) &&
    v.tMs.length === v.rh.length && v.rh.length === v.n.length
  );
}
