import type { GatewayBus } from '../events.ts';
import type { SensorAlertPayload } from '../forecast/alerts.ts';
import type { ForecastErrorReport } from '../forecast/forecast-log.ts';
import type { SyncStatus } from '../sync/sync-types.ts';

/** Default bound of sensors whose latest alert and forecast error are remembered. */
export const DEFAULT_MAX_REMEMBERED_SENSORS = 1000;

/** What a snapshot needs from events that have no DashboardData method. */
export interface LatestView {
  alert(sensorId: string): SensorAlertPayload | null;
  forecastError(sensorId: string): ForecastErrorReport | null;
  sync(): SyncStatus | null;
}

/**
 * Remembers the latest `alert` and `forecastError` per sensor and the latest `sync` status
 * seen on the bus, so a client that connects later gets them in its snapshot. It follows the
 * bus from the dashboard's start, which comes before the sources start (app.ts), so nothing
 * a client should see is missed. At most `maxSensors` sensors are remembered (the oldest
 * entry is forgotten first): a misbehaving ingest client inventing ids cannot grow it.
 */
export class LatestEvents implements LatestView {
  private readonly alerts = new Map<string, SensorAlertPayload>();
  private readonly errors = new Map<string, ForecastErrorReport>();
  private lastSync: SyncStatus | null = null;
  private readonly onAlert = (a: SensorAlertPayload): void => remember(this.alerts, a.sensor, a, this.maxSensors);
  private readonly onError = (r: ForecastErrorReport): void => remember(this.errors, r.sensor, r, this.maxSensors);
  private readonly onSync = (s: SyncStatus): void => {
    this.lastSync = s;
  };

  constructor(private readonly maxSensors = DEFAULT_MAX_REMEMBERED_SENSORS) {
    if (!Number.isInteger(maxSensors) || maxSensors < 1) throw new RangeError(`maxSensors must be a positive integer, got ${maxSensors}`);
  }

  /** Follows the bus until the returned function is called. */
  attach(bus: GatewayBus): () => void {
    bus.on('alert', this.onAlert).on('forecastError', this.onError).on('sync', this.onSync);
    return () => {
      bus.off('alert', this.onAlert).off('forecastError', this.onError).off('sync', this.onSync);
    };
  }

  alert(sensorId: string): SensorAlertPayload | null {
    return this.alerts.get(sensorId) ?? null;
  }

  forecastError(sensorId: string): ForecastErrorReport | null {
    return this.errors.get(sensorId) ?? null;
  }

  sync(): SyncStatus | null {
    return this.lastSync;
  }
}

function remember<T>(map: Map<string, T>, key: string, value: T, max: number): void {
  map.delete(key); // re-inserting moves the key to the end: the oldest entry stays first
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}
