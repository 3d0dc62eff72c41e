import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock, TimerHandle } from './clock.ts';
import type { Config } from './config/schema.ts';
import { GatewayBus } from './events.ts';
import type { Logger } from './log.ts';
import type { ReadingSource } from './sources/source.ts';
import { createSource } from './sources/factory.ts';
import type { ReadingStore } from './store/store.ts';
import { SqliteStore } from './store/sqlite-store.ts';
import { startFlushTimer } from './store/flush-timer.ts';
import { HealthMonitor, type HealthResult, type WatchdogNotifier } from './health/health.ts';
import { FreshReadingCheck, staleAfterMsFor } from './health/fresh-reading.ts';
import { StoreWritableCheck } from './health/store-writable.ts';
import { SqliteWriteProbe } from './health/sqlite-probe.ts';
import { BrokerAcceptingCheck, probeHostFor } from './health/broker-probe.ts';
import { startBroker, type RunningBroker } from './broker/broker.ts';
import { MqttPublisher } from './broker/publisher.ts';
import type { Forecaster } from './forecast/forecaster.ts';
import { OnnxForecaster } from './forecast/onnx-forecaster.ts';
import { ForecastScheduler } from './forecast/scheduler.ts';
import { startDashboard, type RunningDashboard } from './dashboard/server.ts';
import { ReadingPipeline } from './pipeline.ts';
import { GatewayData } from './gateway-data.ts';

/** The folder hygrocast is installed in (repo root); relative model paths resolve against it. */
export const INSTALL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const VERSION = '0.1.0';

export interface GatewayDeps {
  clock: Clock;
  logger: Logger;
  /** systemd notification (READY/WATCHDOG/STOPPING); a no-op notifier when not under systemd. */
  notifier?: WatchdogNotifier;
}

/** Addresses the gateway actually listens on (ports resolved when 0 was asked for). */
export interface GatewayAddresses {
  mqttPort: number | null;
  dashboardPort: number | null;
}

/**
 * The composition root: builds every service from validated config and wires them through
 * one GatewayBus. Start order is store, broker, forecaster, dashboard, sources; stop is the
 * reverse, so no reading arrives at a closed store and the offline status goes out before
 * the broker closes. A forecaster that fails to load is logged and forecasting is off:
 * it must not take buffering and publishing down with it.
 */
export class Gateway {
  readonly bus = new GatewayBus();
  private store: ReadingStore | null = null;
  private stopFlushing: (() => void) | null = null;
  private broker: RunningBroker | null = null;
  private publisher: MqttPublisher | null = null;
  private forecaster: Forecaster | null = null;
  private scheduler: ForecastScheduler | null = null;
  private dashboard: RunningDashboard | null = null;
  private sources: ReadingSource[] = [];
  private pipeline: ReadingPipeline | null = null;
  private health: HealthMonitor | null = null;
  private probe: SqliteWriteProbe | null = null;
  private detachers: (() => void)[] = [];
  private heartbeat: TimerHandle | null = null;
  private readonly log: Logger;
  readonly startedAtMs: number;

  constructor(
    readonly config: Config,
    private readonly deps: GatewayDeps,
  ) {
    this.log = deps.logger;
    this.startedAtMs = deps.clock.now();
  }

  async start(): Promise<GatewayAddresses> {
    try {
      return await this.startAll();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startAll(): Promise<GatewayAddresses> {
    const { config, deps } = this;
    const store = new SqliteStore({
      dataDir: path.resolve(config.dataDir),
      maxPendingReadings: config.store.maxPendingReadings,
      logger: (msg) => this.log.warn({ component: 'store' }, msg),
    });
    this.store = store;
    const probe = new SqliteWriteProbe({ dataDir: path.resolve(config.dataDir), clock: deps.clock });
    this.probe = probe;
    const storeCheck = new StoreWritableCheck({ clock: deps.clock, flushIntervalMs: config.store.flushIntervalMs, probe: () => probe.run() });
    this.stopFlushing = startFlushTimer(storeCheck.instrument(store), deps.clock, config.store.flushIntervalMs, (err) =>
      this.log.error({ component: 'store', err }, 'flush failed; readings kept in memory and retried'),
    );

    if (config.mqtt.enabled) {
      this.broker = await startBroker({
        host: config.mqtt.host,
        port: config.mqtt.port,
        maxClients: config.mqtt.maxClients,
        topicPrefix: config.mqtt.topicPrefix,
        optionName: 'mqtt.port (or HYGROCAST_MQTT_PORT)',
        logger: this.log.child({ component: 'broker' }),
      });
      this.publisher = new MqttPublisher(this.broker.aedes, {
        prefix: config.mqtt.topicPrefix,
        clock: deps.clock,
        sensorsOf: (source) => this.pipeline?.sensorsOf(source) ?? [],
      });
      await this.publisher.online();
      this.wirePublisher(this.publisher);
    }

    if (config.forecast.enabled) await this.startForecasting();

    const pipeline = new ReadingPipeline(store, this.bus, this.log.child({ component: 'pipeline' }));
    this.pipeline = pipeline;
    const data = new GatewayData({
      gatewayId: config.gateway.id,
      version: VERSION,
      startedAtMs: this.startedAtMs,
      store,
      pipeline,
      scheduler: () => this.scheduler,
      model: () => this.forecaster?.info ?? null,
      health: () => this.healthResult(),
    });
    if (config.dashboard.enabled) {
      this.dashboard = await startDashboard({
        host: config.dashboard.host,
        port: config.dashboard.port,
        bus: this.bus,
        data,
        logger: this.log.child({ component: 'dashboard' }),
        optionName: 'dashboard.port (or HYGROCAST_DASHBOARD_PORT)',
      });
    }

    const fresh = new FreshReadingCheck({ clock: deps.clock, staleAfterMs: staleAfterMsFor(config.sources) });
    for (const sourceConfig of config.sources) {
      const source = createSource(sourceConfig, deps.clock);
      this.sources.push(source);
      this.detachers.push(pipeline.attach(source));
      this.detachers.push(fresh.watch(source));
      await source.start();
    }
    this.startHealth([fresh, storeCheck]);
    this.heartbeat = deps.clock.setInterval(() => this.logHeartbeat(), 60_000);
    this.heartbeat.unref?.();

    const addresses = { mqttPort: this.broker?.port ?? null, dashboardPort: this.dashboard?.port ?? null };
    this.log.info({ ...addresses, sources: this.sources.map((s) => s.name), model: this.forecaster?.info.version ?? null }, 'hygrocast gateway started');
    return addresses;
  }

  private async startForecasting(): Promise<void> {
    const modelPath = path.resolve(INSTALL_DIR, this.config.forecast.modelPath);
    try {
      this.forecaster = await OnnxForecaster.load(modelPath);
    } catch (err) {
      this.log.error({ component: 'forecast', err, modelPath }, 'model not loaded; forecasting is off, readings continue');
      return;
    }
    const store = this.store;
    if (!store) return;
    this.scheduler = new ForecastScheduler({
      store,
      forecaster: this.forecaster,
      bus: this.bus,
      clock: this.deps.clock,
      checkIntervalMs: this.config.forecast.checkIntervalMs,
      onError: (err) => this.log.error({ component: 'forecast', err }, 'forecast cycle failed'),
    });
    this.bus.on('noForecast', (info) => this.log.info({ component: 'forecast', ...info }, 'no forecast'));
    this.scheduler.start();
  }

  private wirePublisher(publisher: MqttPublisher): void {
    const onError = (err: unknown): void => this.log.error({ component: 'broker', err }, 'publish failed');
    this.bus.on('reading', (r) => publisher.publishReading(r).catch(onError));
    this.bus.on('forecast', (f) => publisher.publishForecast(f).catch(onError));
    this.bus.on('link', (source, state, detail) => publisher.publishLink(source, state, detail).catch(onError));
  }

  private logHeartbeat(): void {
    const stats = this.store?.stats();
    const rejected = Object.fromEntries(this.sources.map((s) => [s.name, s.rejectedCounts()]));
    this.log.info({ store: stats, rejected }, 'status');
  }

  /** Stops everything that started, in reverse order. Safe to call more than once. */
  /**
   * Health runs with or without systemd (it feeds /healthz); under systemd it pings the
   * watchdog only when every check passes, so a wedged gateway is restarted.
   */
  private startHealth(checks: (FreshReadingCheck | StoreWritableCheck)[]): void {
    const noop: WatchdogNotifier = { watchdog: () => {}, status: () => {}, watchdogIntervalMs: () => null };
    this.health = new HealthMonitor({
      clock: this.deps.clock,
      notifier: this.deps.notifier ?? noop,
      checks,
      onResult: (r) => {
        if (!r.ok) this.log.warn({ component: 'health', checks: r.checks }, 'unhealthy');
      },
    });
    if (this.broker) {
      this.health.register(new BrokerAcceptingCheck({ clock: this.deps.clock, port: this.broker.port, host: probeHostFor(this.config.mqtt.host) }));
    }
    this.health.start();
  }

  healthResult(): HealthResult | null {
    return this.health?.lastResult() ?? null;
  }

  async stop(): Promise<void> {
    await this.health?.stop().catch((err: unknown) => this.log.error({ err }, 'health monitor stop failed'));
    this.health = null;
    if (this.heartbeat) this.deps.clock.clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const source of this.sources.reverse()) {
      await source.stop().catch((err: unknown) => this.log.error({ err, source: source.name }, 'source stop failed'));
    }
    this.sources = [];
    for (const detach of this.detachers) detach();
    this.detachers = [];
    await this.dashboard?.close().catch((err: unknown) => this.log.error({ err }, 'dashboard close failed'));
    this.dashboard = null;
    this.scheduler?.stop();
    this.scheduler = null;
    await this.forecaster?.close().catch((err: unknown) => this.log.error({ err }, 'forecaster close failed'));
    this.forecaster = null;
    await this.publisher?.offline().catch((err: unknown) => this.log.error({ err }, 'offline status not published'));
    this.publisher = null;
    await this.broker?.close().catch((err: unknown) => this.log.error({ err }, 'broker close failed'));
    this.broker = null;
    this.stopFlushing?.();
    this.stopFlushing = null;
    try {
      this.store?.close();
    } catch (err) {
      this.log.error({ err }, 'store close failed');
    }
    this.store = null;
    this.probe?.close();
    this.probe = null;
    this.bus.removeAllListeners();
  }

  forecasterInfo(): Forecaster['info'] | null {
    return this.forecaster?.info ?? null;
  }
}
