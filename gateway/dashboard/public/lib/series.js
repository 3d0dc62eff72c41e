// Builds the column arrays uPlot draws: time, readings, forecast, interval lower, interval upper.
// Pure: no DOM, no uPlot.

/**
 * uPlot wants one shared, ascending x array (seconds) and one y array per series with null
 * where a series has no value. The forecast line starts at the newest reading so it visibly
 * continues the measured curve; the interval band fans out from that same point. `history`
 * (per-minute means, public/lib/history.js) extends the measured line back in time: each mean
 * is drawn at the middle of its minute, and only before the first raw reading so the two never
 * interleave.
 */
export function chartData(readings, forecast, history = null) {
  const rows = new Map();
  const row = (tMs) => {
    const x = tMs / 1000;
    let r = rows.get(x);
    if (!r) rows.set(x, (r = [x, null, null, null, null]));
    return r;
  };
  const firstRawMs = readings.length > 0 ? readings[0].wallTimeMs : Infinity;
  if (history) {
    for (let i = 0; i < history.tMs.length; i++) {
      const midMs = history.tMs[i] + history.bucketMs / 2;
      if (midMs < firstRawMs) row(midMs)[1] = history.rh[i];
    }
  }
  let last = null;
  for (const reading of readings) {
    const value = typeof reading.rh === 'number' && Number.isFinite(reading.rh) ? reading.rh : null;
    row(reading.wallTimeMs)[1] = value;
    if (value !== null) last = reading;
  }
  const points = forecast?.points ?? [];
  if (points.length > 0) {
    if (last !== null) {
      const anchor = row(last.wallTimeMs);
      anchor[2] = anchor[3] = anchor[4] = last.rh;
    }
    for (const p of points) {
      const r = row(forecast.baseTimeMs + p.horizonS * 1000);
      r[2] = p.rh;
      r[3] = p.lower;
      r[4] = p.upper;
    }
  }
  const sorted = [...rows.values()].sort((a, b) => a[0] - b[0]);
  return [0, 1, 2, 3, 4].map((col) => sorted.map((r) => r[col]));
}
