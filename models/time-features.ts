/**
 * The `time_features` input: [sin, cos] of 2*pi*(local time of day of the last step's start,
 * in seconds / 86400). "Local" is whatever wall clock the data was recorded in: the trainer uses
 * CSV timestamps as written (they carry no zone), the gateway uses the process time zone (TZ).
 */

const DAY_S = 86_400;

export function timeFeatures(secondsOfDay: number): [number, number] {
  const angle = (2 * Math.PI * secondsOfDay) / DAY_S;
  return [Math.sin(angle), Math.cos(angle)];
}

/** Seconds since local midnight in the process time zone (the gateway's rule). */
export function localSecondsOfDay(tMs: number): number {
  const d = new Date(tMs);
  return d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds() + d.getMilliseconds() / 1000;
}

/**
 * Seconds since midnight of a "naive" time: the trainer parses zone-less CSV timestamps as if
 * they were UTC, so the UTC fields are the wall-clock fields as written.
 */
export function naiveSecondsOfDay(tMs: number): number {
  return (((tMs / 1000) % DAY_S) + DAY_S) % DAY_S;
}
