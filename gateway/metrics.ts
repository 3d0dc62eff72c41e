import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from './clock.ts';
import type { GatewayBus } from './events.ts';
import type { Forecaster, ModelInfo } from './forecast/forecaster.ts';
import { registerProcessMetrics } from './metrics-process.ts';
import type { StoreStats } from './store/store.ts';

/** Forecast latency buckets, in seconds: a ridge model on a Pi 4 takes about 1-20 ms. */
export const FORECAST_LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What the metrics read at scrape time; each returns null while its component is not running. */
export interface MetricsSources {
  storeStats: () => StoreStats | null;
  brokerClients: () => number | null;
  dashboard: () => { clients: number; droppedSlow: number; droppedDead: number; refusedFull: number } | null;
  model: () => ModelInfo | null;
  /** Readings not yet accepted by the central server; 0 until sync exists. */
  syncBacklog: () => number;
}

export interface GatewayMetricsOptions {
  bus: GatewayBus;
  clock: Clock;
  sources: MetricsSources;
  /** Register prom-client's process metrics (CPU, memory, event loop). Default true. */
  processMetrics?: boolean;
}

/**
 * Sets a labelled counter to absolute totals kept elsewhere (a component's own since-start
 * counts, read at scrape time). Those totals only grow while the component runs, so the
 * series stays monotonic as Prometheus expects of a counter.
 */
function setTotals<L extends string>(counter: Counter<L>, totals: [Partial<Record<L, string>>, number][]): void {
  counter.reset();
  for (const [labels, value] of totals) counter.inc(labels, value);
}

/**
 * The gateway's Prometheus metrics, on a Registry it owns (never prom-client's global one, so
 * two gateways in one process, as in tests, do not collide). Event-driven metrics (readings,
 * rejected lines) count bus events between start() and stop(); the rest are read from
 * `sources` at scrape time through collect() callbacks, so nothing polls in the background.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly readings: Counter<'sensor'>;
  private readonly rejected: Counter<'source' | 'reason'>;
  private readonly lost: Counter<'source'>;
  private readonly forecastLatency: Histogram<'outcome'>;
  private readonly onReading = (r: { sensorId: string }): void => this.readings.inc({ sensor: r.sensorId });
  private readonly onRejected = (source: string, reason: string): void => this.rejected.inc({ source, reason });
  private readonly onLost = (source: string, count: number): void => this.lost.inc({ source }, count);

  constructor(private readonly opts: GatewayMetricsOptions) {
    const registers = [this.registry];
    const src = opts.sources;
    if (opts.processMetrics ?? true) registerProcessMetrics(this.registry);
    this.readings = new Counter({ name: 'hygrocast_readings_total', help: 'Readings accepted into the store, by sensor.', labelNames: ['sensor'], registers });
    this.rejected = new Counter({ name: 'hygrocast_rejected_lines_total', help: 'Lines from a sensor link rejected by the decoder, by source and reason.', labelNames: ['source', 'reason'], registers });
    this.lost = new Counter({ name: 'hygrocast_readings_lost_total', help: 'Readings a device numbered that never arrived (gaps in the serial protocol seq), by source.', labelNames: ['source'], registers });
    this.forecastLatency = new Histogram({
      name: 'hygrocast_forecast_duration_seconds',
      help: 'Time one forecast call took, by outcome (forecast or no_forecast).',
      labelNames: ['outcome'],
      buckets: FORECAST_LATENCY_BUCKETS_S,
      registers,
    });
    const storeGauge = (name: string, help: string, pick: (s: StoreStats) => number): void => {
      new Gauge({ name, help, registers, collect() { const s = src.storeStats(); this.set(s ? pick(s) : 0); } });
    };
    storeGauge('hygrocast_store_size_bytes', 'Size of the reading database on disk.', (s) => s.bytes);
    storeGauge('hygrocast_store_readings', 'Readings currently kept in the store.', (s) => s.readings);
    storeGauge('hygrocast_store_pending_readings', 'Readings buffered in memory, not yet durable.', (s) => s.pending);
    new Counter({
      name: 'hygrocast_store_evictions_total',
      help: 'Readings removed to keep the store within its byte budget, by kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        const ev = src.storeStats()?.evictions;
        setTotals(this, (['thinned', 'dropped_synced', 'dropped_unsynced'] as const).map((kind) => [{ kind }, ev?.[kind] ?? 0]));
      },
    });
    new Counter({
      name: 'hygrocast_store_dropped_readings_total',
      help: 'Readings dropped because the write buffer was full while flushes kept failing.',
      registers,
      collect() {
        this.reset();
        this.inc(src.storeStats()?.dropped ?? 0);
      },
    });
    new Gauge({ name: 'hygrocast_sync_backlog_readings', help: 'Readings not yet accepted by the central server.', registers, collect() { this.set(src.syncBacklog()); } });
    new Gauge({
      name: 'hygrocast_model_info',
      help: 'The loaded forecasting model (value 1, version in the label); absent when forecasting is off.',
      labelNames: ['version'],
      registers,
      collect() {
        this.reset();
        const model = src.model();
        if (model) this.set({ version: model.version }, 1);
      },
    });
    new Gauge({ name: 'hygrocast_mqtt_clients', help: 'MQTT clients connected to the embedded broker.', registers, collect() { this.set(src.brokerClients() ?? 0); } });
    new Gauge({ name: 'hygrocast_dashboard_clients', help: 'Dashboard WebSocket clients connected.', registers, collect() { this.set(src.dashboard()?.clients ?? 0); } });
    new Counter({
      name: 'hygrocast_dashboard_dropped_clients_total',
      help: 'Dashboard WebSocket clients dropped or refused, by reason (slow: fell behind; dead: missed a pong; full: too many clients).',
      labelNames: ['reason'],
      registers,
      collect() {
        const d = src.dashboard();
        setTotals(this, [
          [{ reason: 'slow' }, d?.droppedSlow ?? 0],
          [{ reason: 'dead' }, d?.droppedDead ?? 0],
          [{ reason: 'full' }, d?.refusedFull ?? 0],
        ]);
      },
    });
  }

  /** Starts counting bus events. */
  start(): void {
    this.opts.bus.on('reading', this.onReading).on('rejected', this.onRejected).on('lost', this.onLost);
  }

  /** Stops counting bus events; the counts so far stay readable. */
  stop(): void {
    this.opts.bus.off('reading', this.onReading).off('rejected', this.onRejected).off('lost', this.onLost);
  }

  /** Wraps a forecaster so every forecast() call is timed (monotonic clock) into the latency histogram. */
  timed(forecaster: Forecaster): Forecaster {
    const { clock } = this.opts;
    const latency = this.forecastLatency;
    return {
      get info() {
        return forecaster.info;
      },
      async forecast(sensorId, history, nowMs) {
        const t0 = clock.monotonic();
        const result = await forecaster.forecast(sensorId, history, nowMs);
        latency.observe({ outcome: 'points' in result ? 'forecast' : 'no_forecast' }, (clock.monotonic() - t0) / 1000);
        return result;
      },
      close: () => forecaster.close(),
    };
  }

  /** The exposition text for a scrape, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
