import type { DashboardData, LinkInfo } from './dashboard/data.ts';
import type { GatewayInfo, MinuteHistory, OperatorStatus } from './dashboard/messages.ts';
import type { NoForecast } from './forecast/forecaster.ts';
import type { ForecastScheduler } from './forecast/scheduler.ts';
import type { ModelInfo } from './forecast/forecaster.ts';
import type { ModelStage } from './forecast/model-manager.ts';
import type { ReadingPipeline } from './pipeline.ts';
import type { ReadingStore } from './store/store.ts';
import type { Forecast, Reading } from './types.ts';
import { healthzResponse, type HealthResult } from './health/health.ts';

export interface GatewayDataParts {
  gatewayId: string;
  version: string;
  startedAtMs: number;
  store: ReadingStore;
  pipeline: ReadingPipeline;
  /** The scheduler exists only when a model loaded; read lazily. */
  scheduler: () => ForecastScheduler | null;
  /** The forecasting model and its stage (ModelManager.stage; "local" without a model manager). */
  model: () => (ModelInfo & { stage?: ModelStage }) | null;
  health: () => HealthResult | null;
  /** Clients of the embedded broker; null (or absent) when the broker is off. */
  brokerClients?: () => number | null;
  /** Readings waiting for the central server; null (or absent) until sync exists. */
  syncBacklog?: () => number | null;
  /** Per-minute means from the store's file (SqliteHistory); absent: snapshots average readings themselves. */
  history?: { minuteMeans(sensorId: string, sinceMs: number, untilMs: number, bucketMs: number): MinuteHistory } | null;
}

/** What the dashboard reads, answered from the store, the pipeline and the forecast scheduler. */
export class GatewayData implements DashboardData {
  readonly history?: DashboardData['history'];

  constructor(private readonly parts: GatewayDataParts) {
    const source = parts.history;
    if (source) this.history = (sensorId, sinceMs, untilMs, bucketMs) => source.minuteMeans(sensorId, sinceMs, untilMs, bucketMs);
  }

  gatewayInfo(): GatewayInfo {
    const model = this.parts.model();
    return {
      id: this.parts.gatewayId,
      version: this.parts.version,
      model: model ? { version: model.version, horizonsS: model.horizonsS, stage: model.stage ?? 'local' } : null,
      startedAtMs: this.parts.startedAtMs,
    };
  }

  sensorIds(): string[] {
    return this.parts.store.sensors();
  }

  readings(sensorId: string, sinceMs: number, limit: number): Reading[] {
    return this.parts.store.recent(sensorId, sinceMs, limit).map(({ id: _id, ...reading }) => reading);
  }

  latestForecast(sensorId: string): Forecast | null {
    return this.parts.scheduler()?.latestForecast(sensorId) ?? null;
  }

  lastNoForecast(sensorId: string): NoForecast | null {
    return this.parts.scheduler()?.latestNoForecast(sensorId) ?? null;
  }

  linkStates(): Record<string, LinkInfo> {
    return this.parts.pipeline.linkStates();
  }

  health(): { statusCode: 200 | 503; body: Record<string, unknown> } {
    return healthzResponse(this.parts.health());
  }

  status(): OperatorStatus {
    const stats = this.parts.store.stats();
    return {
      mqttClients: this.parts.brokerClients?.() ?? null,
      syncBacklog: this.parts.syncBacklog?.() ?? null,
      store: { readings: stats.readings, bytes: stats.bytes, evictions: stats.evictions },
    };
  }

  sensorSource(sensorId: string): string | null {
    return this.parts.pipeline.sourceOf(sensorId);
  }
}
