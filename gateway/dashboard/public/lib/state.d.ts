// Types of state.js for the TypeScript tests.
import type { NoForecast } from '../../../forecast/forecaster.ts';
import type { Forecast, LinkState, Reading } from '../../../types.ts';
import type { GatewayInfo } from '../../messages.ts';

export declare const KEEP_WINDOW_MS: number;
export declare const MAX_READINGS: number;

export interface SensorState {
  sensorId: string;
  readings: Reading[];
  forecast: Forecast | null;
  noForecast: NoForecast | null;
  source: string | null;
}

export interface PageState {
  gateway: GatewayInfo | null;
  sensors: Map<string, SensorState>;
  links: Map<string, { state: LinkState; detail: string }>;
}

export interface Changes {
  all: boolean;
  sensors: string[];
  links: boolean;
}

export declare function createState(): PageState;
export declare function addReading(readings: Reading[], reading: Reading): void;
/** Accepts anything JSON.parse returns; unknown or malformed messages change nothing. */
export declare function applyMessage(state: PageState, msg: unknown): Changes;
