import type { NoForecast } from '../forecast/forecaster.ts';
import type { Forecast, LinkState, Reading } from '../types.ts';
import type { GatewayInfo, MinuteHistory, OperatorStatus } from './messages.ts';

/** State of one source's link with the reason for it (e.g. "ENOENT /dev/ttyUSB0"). */
export interface LinkInfo {
  state: LinkState;
  detail: string;
}

/**
 * Everything the dashboard reads. The composition root implements it from the store, the
 * forecast scheduler and the sources; the dashboard never imports those modules. Every method
 * is synchronous and cheap enough to call per HTTP request (better-sqlite3 is synchronous).
 * A method may throw: the HTTP route then answers 500 and a WebSocket client gets close code 1011.
 */
export interface DashboardData {
  gatewayInfo(): GatewayInfo;
  /** Ids of every sensor the gateway knows, in display order. */
  sensorIds(): string[];
  /**
   * Readings of `sensorId` with wallTimeMs >= sinceMs, oldest first, at most `limit`. When more
   * match, the NEWEST `limit` are returned (the dashboard wants what happened last), so
   * readings(id, 0, 1) is the latest reading. Unknown sensors give [].
   */
  readings(sensorId: string, sinceMs: number, limit: number): Reading[];
  /** The newest forecast made for the sensor, or null. */
  latestForecast(sensorId: string): Forecast | null;
  /** Why the most recent forecast cycle of the sensor made no forecast, or null. */
  lastNoForecast(sensorId: string): NoForecast | null;
  /** Link state of every source, keyed by source name (ReadingSource.name). */
  linkStates(): Record<string, LinkInfo>;
  /**
   * The gateway's health (the same checks that gate the systemd watchdog), for /healthz:
   * statusCode 200 when healthy, 503 when unhealthy or not yet checked. Optional: without it
   * /healthz reports only that the HTTP server answers.
   */
  health?(): { statusCode: 200 | 503; body: Record<string, unknown> };
  /** Broker clients, sync backlog and store size for GET /api/status. Optional: without it those are null. */
  status?(): OperatorStatus;
  /**
   * Per-bucket means of the sensor's usable readings (a value, no spike/out_of_range/sensor_error
   * flag) with sinceMs <= wallTimeMs < untilMs, oldest first, one per bucket that has any (as
   * public/lib/history.js bucketMeans computes them). Optional, and meant to be cheap (an
   * aggregate query): without it a snapshot reads the readings and averages them itself.
   */
  history?(sensorId: string, sinceMs: number, untilMs: number, bucketMs: number): MinuteHistory;
  /** Name of the source that delivers this sensor's readings (a key of linkStates()), or null. */
  sensorSource(sensorId: string): string | null;
}
