import type { GatewayBus } from '../events.ts';
import type { NoForecast } from '../forecast/forecaster.ts';
import type { Forecast, LinkState, Reading } from '../types.ts';
import type { DashboardData, LinkInfo } from './data.ts';
import type { GatewayInfo } from './messages.ts';

/** Default bound of readings kept per sensor: two hours at one reading per second. */
export const DEFAULT_MAX_READINGS_PER_SENSOR = 7200;

/**
 * A complete in-memory DashboardData that follows a GatewayBus. Useful to run the dashboard
 * without a store (demos, tests) and as the reference behaviour of the DashboardData contract.
 * Readings arrive in order per sensor (the pipeline's order), so the newest is always last.
 */
export class MemoryDashboardData implements DashboardData {
  private readonly byId = new Map<string, Reading[]>();
  private readonly forecasts = new Map<string, Forecast>();
  private readonly refusals = new Map<string, NoForecast>();
  private readonly links = new Map<string, LinkInfo>();
  private readonly sources = new Map<string, string>();

  /** @param maxReadingsPerSensor oldest readings beyond this bound are forgotten (default 7200). */
  constructor(
    private readonly info: GatewayInfo,
    private readonly maxReadingsPerSensor = DEFAULT_MAX_READINGS_PER_SENSOR,
  ) {
    if (!Number.isInteger(maxReadingsPerSensor) || maxReadingsPerSensor < 1) {
      throw new RangeError(`maxReadingsPerSensor must be a positive integer, got ${maxReadingsPerSensor}`);
    }
  }

  /** Follows the bus until the returned function is called. */
  attach(bus: GatewayBus): () => void {
    const onReading = (r: Reading): void => this.addReading(r);
    const onForecast = (f: Forecast): void => this.setForecast(f);
    const onNoForecast = (n: NoForecast): void => this.setNoForecast(n);
    const onLink = (source: string, state: LinkState, detail: string): void => this.setLink(source, state, detail);
    bus.on('reading', onReading).on('forecast', onForecast).on('noForecast', onNoForecast).on('link', onLink);
    return () => {
      bus.off('reading', onReading).off('forecast', onForecast).off('noForecast', onNoForecast).off('link', onLink);
    };
  }

  addReading(reading: Reading): void {
    let list = this.byId.get(reading.sensorId);
    if (!list) this.byId.set(reading.sensorId, (list = []));
    list.push(reading);
    // Trim in chunks so the cost of splice is amortised over many appends.
    if (list.length > this.maxReadingsPerSensor * 1.25) list.splice(0, list.length - this.maxReadingsPerSensor);
  }

  /** A forecast replaces the previous one and clears the sensor's "no forecast" reason. */
  setForecast(forecast: Forecast): void {
    this.forecasts.set(forecast.sensorId, forecast);
    this.refusals.delete(forecast.sensorId);
  }

  /** A refusal withdraws the sensor's forecast, as the scheduler does: no stale forecast is served. */
  setNoForecast(info: NoForecast): void {
    this.refusals.set(info.sensorId, info);
    this.forecasts.delete(info.sensorId);
  }

  setLink(source: string, state: LinkState, detail: string): void {
    this.links.set(source, { state, detail });
  }

  setSensorSource(sensorId: string, source: string): void {
    this.sources.set(sensorId, source);
  }

  gatewayInfo(): GatewayInfo {
    return this.info;
  }

  sensorIds(): string[] {
    return [...this.byId.keys()].sort();
  }

  readings(sensorId: string, sinceMs: number, limit: number): Reading[] {
    const list = this.byId.get(sensorId) ?? [];
    const kept = list.length > this.maxReadingsPerSensor ? list.slice(-this.maxReadingsPerSensor) : list;
    const matching = kept.filter((r) => r.wallTimeMs >= sinceMs);
    return limit >= matching.length ? matching : matching.slice(matching.length - limit);
  }

  latestForecast(sensorId: string): Forecast | null {
    return this.forecasts.get(sensorId) ?? null;
  }

  lastNoForecast(sensorId: string): NoForecast | null {
    return this.refusals.get(sensorId) ?? null;
  }

  linkStates(): Record<string, LinkInfo> {
    return Object.fromEntries(this.links);
  }

  sensorSource(sensorId: string): string | null {
    return this.sources.get(sensorId) ?? null;
  }
}
