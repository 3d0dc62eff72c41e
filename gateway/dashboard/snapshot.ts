import type { DashboardData } from './data.ts';
import type { LinkStatus, ServerMessage, SensorSnapshot } from './messages.ts';

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

export interface SnapshotLimits {
  windowMs: number;
  fetchLimit: number;
  maxPoints: number;
}

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

/** Builds the message a client gets first: gateway info, links and per sensor its recent state. */
export function buildSnapshot(data: DashboardData, nowMs: number, limits: SnapshotLimits): SnapshotMessage {
  const sinceMs = nowMs - limits.windowMs;
  const sensors: SensorSnapshot[] = data.sensorIds().map((sensorId) => ({
    sensorId,
    readings: thin(data.readings(sensorId, sinceMs, limits.fetchLimit), limits.maxPoints),
    forecast: data.latestForecast(sensorId),
    noForecast: data.lastNoForecast(sensorId),
    source: data.sensorSource(sensorId),
  }));
  return { type: 'snapshot', gateway: data.gatewayInfo(), sensors, links: linkList(data) };
}

export function linkList(data: DashboardData): LinkStatus[] {
  return Object.entries(data.linkStates()).map(([source, { state, detail }]) => ({ source, state, detail }));
}
