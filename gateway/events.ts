import { EventEmitter } from 'node:events';
import type { AlertPayload, SensorAlertPayload } from './forecast/alerts.ts';
import type { NoForecast } from './forecast/forecaster.ts';
import type { ForecastErrorReport } from './forecast/forecast-log.ts';
import type { SyncStatus } from './sync/sync-types.ts';
import type { Forecast, LinkState, Reading } from './types.ts';

/**
 * The gateway's internal bus, typed. The composition root (gateway/app.ts) owns the one
 * instance; the pipeline emits on it and the broker, dashboard and metrics listen.
 * Listeners must not throw: a throwing listener is a bug in that listener, and the emitter
 * would otherwise unwind into the source that produced the reading.
 */
export interface GatewayEventMap {
  reading: [reading: Reading];
  forecast: [forecast: Forecast];
  noForecast: [info: NoForecast];
  /** A forecast changed alerts: the sensor's combined state, and each alert whose payload changed. */
  alert: [alert: SensorAlertPayload, changed: readonly AlertPayload[]];
  forecastError: [report: ForecastErrorReport];
  link: [source: string, state: LinkState, detail: string];
  rejected: [source: string, reason: string];
  /** Readings a device numbered that never arrived (serial seq gaps, firmware-bridge/seq-tracker.ts). */
  lost: [source: string, count: number];
  /** The sync uplink's status (backlog, oldest unsynced age, last success), on every change. */
  sync: [status: SyncStatus];
}

export class GatewayBus extends EventEmitter<GatewayEventMap> {}
