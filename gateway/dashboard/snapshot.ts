import type { DashboardData } from './data.ts';
import type { LatestView } from './latest.ts';
import type { Reading } from '../types.ts';
import type { LinkStatus, MinuteHistory, ServerMessage, SensorSnapshot } from './messages.ts';
import { bucketMeans, HISTORY_BUCKET_MS, HISTORY_WINDOW_MS, trimHistory } from './public/lib/history.js';

export type SnapshotMessage = Extract<ServerMessage, { type: 'snapshot' }>;

/** Default window of readings in a snapshot: the last hour. */
export const DEFAULT_SNAPSHOT_WINDOW_MS = 3_600_000;
/** Default bound of readings fetched per sensor for a snapshot (one hour at 1 Hz). */
export const DEFAULT_SNAPSHOT_FETCH_LIMIT = 3600;
/**
 * Default bound of readings sent per sensor in a snapshot. 600 points (about 120 KB of JSON per
 * sensor) draw a smooth hour on any screen and keep a snapshot well under the 1 MiB socket bound.
 */
export const DEFAULT_SNAPSHOT_MAX_POINTS = 600;

/** Default window of the per-minute history before the raw readings: 24 h (the chart's span). */
export const DEFAULT_SNAPSHOT_HISTORY_WINDOW_MS = HISTORY_WINDOW_MS;
/**
 * Default bound of readings fetched per sensor for the history: 25 h at 1 Hz. A faster sensor
 * gets a shorter history (the newest readings win). 1440 one-minute means are about 30 KB of
 * JSON per sensor, so the history adds little to the snapshot.
 */
export const DEFAULT_SNAPSHOT_HISTORY_FETCH_LIMIT = 90_000;

export interface SnapshotLimits {
  /** Raw readings: the last `windowMs`, at most `fetchLimit` fetched, thinned to `maxPoints`. */
  windowMs: number;
  fetchLimit: number;
  maxPoints: number;
  /**
   * Per-minute means of the older readings, back to `historyWindowMs`. Without
   * DashboardData.history, at most `historyFetchLimit` readings are read to compute them.
   */
  historyWindowMs?: number;
  historyFetchLimit?: number;
}

const NO_EVENTS: LatestView = { alert: () => null, forecastError: () => null, sync: () => null };

/**
 * Keeps at most `maxPoints` items spread evenly over `items`, always keeping the first and the
 * last (the newest reading must survive: the page shows it as "current").
 */
export function thin<T>(items: readonly T[], maxPoints: number): T[] {
  if (maxPoints < 1) throw new RangeError(`maxPoints must be at least 1, got ${maxPoints}`);
  if (items.length <= maxPoints) return [...items];
  if (maxPoints === 1) return items.slice(-1);
  const out: T[] = [];
  const step = (items.length - 1) / (maxPoints - 1);
  for (let i = 0; i < maxPoints; i++) out.push(items[Math.round(i * step)] as T);
  return out;
}

/**
 * Builds the message a client gets first: gateway info, links, the sync status and per sensor
 * its recent readings, a 24 h history of per-minute means, forecast, alert and forecast error.
 */
export function buildSnapshot(data: DashboardData, nowMs: number, limits: SnapshotLimits, latest: LatestView = NO_EVENTS): SnapshotMessage {
  const sensors: SensorSnapshot[] = data.sensorIds().map((sensorId) => ({
    sensorId,
    ...recentAndHistory(data, sensorId, nowMs, limits),
    forecast: data.latestForecast(sensorId),
    noForecast: data.lastNoForecast(sensorId),
    source: data.sensorSource(sensorId),
    alert: latest.alert(sensorId),
    forecastError: latest.forecastError(sensorId),
  }));
  return { type: 'snapshot', gateway: data.gatewayInfo(), sensors, links: linkList(data), sync: latest.sync() };
}

/**
 * With DashboardData.history the store averages; without it one fetch serves both: the readings of the raw window (the newest `fetchLimit`, thinned) and,
 * from everything older, the per-minute history. Readings are split, never duplicated.
 */
function recentAndHistory(data: DashboardData, sensorId: string, nowMs: number, limits: SnapshotLimits): { readings: Reading[]; history: MinuteHistory } {
  const rawSinceMs = nowMs - limits.windowMs;
  const historySinceMs = nowMs - (limits.historyWindowMs ?? DEFAULT_SNAPSHOT_HISTORY_WINDOW_MS);
  if (data.history) {
    // The cheap path: the raw window from readings(), the means before it from an aggregate.
    const raw = data.readings(sensorId, rawSinceMs, limits.fetchLimit);
    const history = data.history(sensorId, historySinceMs, raw[0]?.wallTimeMs ?? rawSinceMs, HISTORY_BUCKET_MS);
    return { readings: thin(raw, limits.maxPoints), history };
  }
  const historyLimit = limits.historyFetchLimit ?? DEFAULT_SNAPSHOT_HISTORY_FETCH_LIMIT;
  const all = data.readings(sensorId, Math.min(rawSinceMs, historySinceMs), Math.max(historyLimit, limits.fetchLimit));
  let split = all.length;
  while (split > 0 && all.length - split < limits.fetchLimit && (all[split - 1] as Reading).wallTimeMs >= rawSinceMs) split--;
  const history = trimHistory(bucketMeans(all.slice(0, split), HISTORY_BUCKET_MS), historySinceMs - HISTORY_BUCKET_MS);
  return { readings: thin(all.slice(split), limits.maxPoints), history };
}

export function linkList(data: DashboardData): LinkStatus[] {
  return Object.entries(data.linkStates()).map(([source, { state, detail }]) => ({ source, state, detail }));
}
