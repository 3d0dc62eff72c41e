import type { NoForecast } from '../forecast/forecaster.ts';
import type { Forecast, LinkState, Reading } from '../types.ts';

/**
 * WebSocket messages from the gateway to the dashboard. One JSON object per frame.
 * On connect the server sends one `snapshot`, then deltas (`reading`, `forecast`, `noForecast`,
 * `link`). The page (gateway/dashboard/public/app.js) consumes exactly these shapes and ignores
 * types it does not know, so new message types can be added without breaking old tabs.
 */
export type ServerMessage =
  | { type: 'snapshot'; gateway: GatewayInfo; sensors: SensorSnapshot[]; links: LinkStatus[] }
  | { type: 'reading'; reading: Reading }
  | { type: 'forecast'; forecast: Forecast }
  | { type: 'noForecast'; info: NoForecast }
  | { type: 'link'; source: string; state: LinkState; detail: string };

export interface GatewayInfo {
  id: string;
  version: string;
  model: { version: string; horizonsS: number[] } | null;
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
}

/**
 * Operator figures answered by GET /api/status (the page polls it for its footer). A figure is
 * null when its component is off (no broker) or does not exist yet (sync).
 */
export interface OperatorStatus {
  mqttClients: number | null;
  syncBacklog: number | null;
  store: { readings: number; bytes: number } | null;
}

/** Current state of one source's link, as in the `link` delta. */
export interface LinkStatus {
  source: string;
  state: LinkState;
  detail: string;
}
