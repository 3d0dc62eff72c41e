import type { Forecast, LinkState, Reading } from '../types.ts';

/**
 * WebSocket messages from the gateway to the dashboard. One JSON object per frame.
 * On connect the server sends one `snapshot`, then deltas (`reading`, `forecast`, `link`).
 * The page (gateway/dashboard/public/app.js) consumes exactly these shapes.
 */
export type ServerMessage =
  | { type: 'snapshot'; gateway: GatewayInfo; sensors: SensorSnapshot[] }
  | { type: 'reading'; reading: Reading }
  | { type: 'forecast'; forecast: Forecast }
  | { type: 'link'; source: string; state: LinkState; detail: string };

export interface GatewayInfo {
  id: string;
  version: string;
  model: { version: string; horizonsS: number[] } | null;
  startedAtMs: number;
}

export interface SensorSnapshot {
  sensorId: string;
  /** Readings of the snapshot window, oldest first. */
  readings: Reading[];
  forecast: Forecast | null;
}
