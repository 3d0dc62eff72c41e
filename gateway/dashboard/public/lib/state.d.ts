// Types of state.js for the TypeScript tests.
import type { NoForecast } from '../../../forecast/forecaster.ts';
import type { Forecast, LinkState, Reading } from '../../../types.ts';
import type { SensorAlertPayload } from '../../../forecast/alerts.ts';
import type { ForecastErrorReport } from '../../../forecast/forecast-log.ts';
import type { SyncStatus } from '../../../sync/sync-types.ts';
import type { GatewayInfo, MinuteHistory } from '../../messages.ts';

export declare const KEEP_WINDOW_MS: number;
export declare const MAX_READINGS: number;

export interface SensorState {
  sensorId: string;
  readings: Reading[];
  /** Per-minute means before `readings`, 24 h at most. */
  history: MinuteHistory;
  alert: SensorAlertPayload | null;
  forecastError: ForecastErrorReport | null;
  forecast: Forecast | null;
  noForecast: NoForecast | null;
  source: string | null;
}

export interface PageState {
  gateway: GatewayInfo | null;
  sensors: Map<string, SensorState>;
  links: Map<string, { state: LinkState; detail: string }>;
  sync: SyncStatus | null;
}

export interface Changes {
  all: boolean;
  sensors: string[];
  links: boolean;
}

export declare function createState(): PageState;
/** Returns the readings trimmed off the raw window, oldest first. */
export declare function addReading(readings: Reading[], reading: Reading): Reading[];
/** Accepts anything JSON.parse returns; unknown or malformed messages change nothing. */
export declare function applyMessage(state: PageState, msg: unknown): Changes;
