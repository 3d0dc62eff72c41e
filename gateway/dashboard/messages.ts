import type { SensorAlertPayload } from '../forecast/alerts.ts';
import type { ForecastErrorReport } from '../forecast/forecast-log.ts';
import type { NoForecast } from '../forecast/forecaster.ts';
import type { SyncStatus } from '../sync/sync-types.ts';
import type { Forecast, LinkState, Reading } from '../types.ts';

/**
 * WebSocket messages from the gateway to the dashboard. One JSON object per frame.
 * On connect the server sends one `snapshot`, then deltas (`reading`, `forecast`, `noForecast`,
 * `link`, `alert`, `forecastError`, `sync`). The page (gateway/dashboard/public/app.js) consumes exactly these shapes and ignores
 * types it does not know, so new message types can be added without breaking old tabs.
 */
export type ServerMessage =
  | {
      type: 'snapshot';
      gateway: GatewayInfo;
      sensors: SensorSnapshot[];
      links: LinkStatus[];
      /** The sync uplink's latest status, or null when sync is off or has not reported yet. */
      sync: SyncStatus | null;
    }
  | { type: 'reading'; reading: Reading }
  | { type: 'forecast'; forecast: Forecast }
  | { type: 'noForecast'; info: NoForecast }
  | { type: 'link'; source: string; state: LinkState; detail: string }
  /** A sensor's threshold alerts changed: their combined state (on while any is on, `active` lists them); the bus's `alert` event. */
  | { type: 'alert'; alert: SensorAlertPayload }
  /** New rolling forecast error of one sensor; the bus's `forecastError` event. */
  | { type: 'forecastError'; report: ForecastErrorReport }
  /** The sync uplink's status changed; the bus's `sync` event. */
  | { type: 'sync'; status: SyncStatus }
  /**
   * Sent every heartbeat interval: browsers do not show WebSocket pings to the page, so without it
   * a page whose sensors are quiet (one reading every few minutes) took the silence for a dead
   * gateway and reconnected every 2 minutes, each time costing a full snapshot.
   */
  | { type: 'keepalive' };

export interface GatewayInfo {
  id: string;
  version: string;
  /**
   * The loaded model, or null when forecasting is off. `stage` says where the model stands
   * (gateway/forecast/model-manager.ts): "local" while it is the file at `forecast.modelPath`,
   * "probation" while a model pulled from the central server can still be rolled back,
   * "production" once it has passed probation. Absent when the builder does not know it.
   */
  model: { version: string; horizonsS: number[]; stage?: string } | null;
  startedAtMs: number;
}

export interface SensorSnapshot {
  sensorId: string;
  /** Readings of the snapshot window, oldest first (thinned evenly when there are many). */
  readings: Reading[];
  forecast: Forecast | null;
  /** Why the latest forecast cycle made no forecast, or null when it made one / none ran yet. */
  noForecast: NoForecast | null;
  /** Name of the source whose link carries this sensor (a key of `links`), or null if unknown. */
  source: string | null;
  /** Per-minute means of the readings before `readings`' window, back to 24 h ago (public/lib/history.js). */
  history: MinuteHistory;
  /** The sensor's latest alert state (on or off) since the dashboard started, or null. */
  alert: SensorAlertPayload | null;
  /** The sensor's latest rolling forecast error since the dashboard started, or null. */
  forecastError: ForecastErrorReport | null;
}

/**
 * A long stretch of one sensor's humidity as parallel columns (about 20 bytes per point in
 * JSON instead of about 200 for a Reading): one point per `bucketMs` that had a usable value.
 */
export interface MinuteHistory {
  bucketMs: number;
  /** Start of each bucket, ms since the epoch, ascending. */
  tMs: number[];
  /** Mean %RH of the usable readings in the bucket (2 decimals). */
  rh: number[];
  /** Readings behind each mean (the page merges later readings of the last bucket exactly). */
  n: number[];
}

/**
 * Operator figures answered by GET /api/status (the page polls it for its footer). A figure is
 * null when its component is off (no broker) or does not exist yet (sync).
 */
export interface OperatorStatus {
  mqttClients: number | null;
  syncBacklog: number | null;
  /** `evictions` is the store's stats().evictions: readings thinned or dropped to keep the byte budget. */
  store: { readings: number; bytes: number; evictions?: { thinned: number; dropped_synced: number; dropped_unsynced: number } } | null;
}

/** Current state of one source's link, as in the `link` delta. */
export interface LinkStatus {
  source: string;
  state: LinkState;
  detail: string;
}
