// Trend of a sensor's humidity, shown as an arrow on its card. Pure: no DOM, no clock.

/** Window of the trend: change over the last 10 minutes. */
export const TREND_WINDOW_MS = 600_000;
/** A change smaller than this (in %RH) over the window counts as steady: DHT22-class sensors are +-2 %RH. */
export const TREND_STEADY_RH = 1;

/** Flags that make a value unfit to draw a trend from (or to average into the chart's history). */
const UNUSABLE = new Set(['out_of_range', 'sensor_error', 'spike']);

/** Whether a reading has a humidity fit for a trend or a mean (numeric, not flagged faulty). */
export function usable(reading) {
  return typeof reading.rh === 'number' && Number.isFinite(reading.rh) && !(reading.quality ?? []).some((f) => UNUSABLE.has(f));
}

/**
 * Change of humidity over the window ending at the newest usable reading.
 * Returns null when there is no usable reading, or the usable history covers less than half the
 * window (a trend over two minutes of data is noise, not a trend).
 */
export function trend(readings, windowMs = TREND_WINDOW_MS, steadyRh = TREND_STEADY_RH) {
  let last = null;
  for (let i = readings.length - 1; i >= 0 && last === null; i--) if (usable(readings[i])) last = readings[i];
  if (last === null) return null;
  const startMs = last.wallTimeMs - windowMs;
  const first = readings.find((r) => r.wallTimeMs >= startMs && usable(r));
  if (!first || first === last) return null;
  const spanMs = last.wallTimeMs - first.wallTimeMs;
  if (spanMs < windowMs / 2) return null;
  const deltaRh = last.rh - first.rh;
  const direction = deltaRh >= steadyRh ? 'up' : deltaRh <= -steadyRh ? 'down' : 'steady';
  return { direction, deltaRh, spanMs };
}
