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
import { startFlushTimer, throttledFailureLog } from './store/flush-timer.ts';
import { startStoreStatus } from './store/store-status.ts';
import { ClockTrust } from './clock-trust.ts';
import { QualityChecker } from './quality.ts';
import { HealthMonitor, type HealthResult, type WatchdogNotifier } from './health/health.ts';
import { FreshReadingCheck, staleAfterMsFor } from './health/fresh-reading.ts';
import { StoreWritableCheck } from './health/store-writable.ts';
import { SqliteWriteProbe } from './health/sqlite-probe.ts';
import { BrokerAcceptingCheck, probeHostFor } from './health/broker-probe.ts';
import { startBroker, type RunningBroker } from './broker/broker.ts';
import { MqttPublisher } from './broker/publisher.ts';
import { authFromConfig, startMqttSurface, type MqttSurface } from './broker/surface.ts';
import { ANNOUNCED_ALERTS_FILE, FileAnnouncedAlerts } from './broker/announced-alerts.ts';
import type { Forecaster } from './forecast/forecaster.ts';
import { OnnxForecaster } from './forecast/onnx-forecaster.ts';
import { ForecastScheduler } from './forecast/scheduler.ts';
import { alertsFor } from './forecast/alerts.ts';
import { startAlerts } from './forecast/start-alerts.ts';
import { startForecastScoring } from './forecast/start-scoring.ts';
import { startDashboard, type RunningDashboard } from './dashboard/server.ts';
import { ReadingPipeline } from './pipeline.ts';
import { GatewayData } from './gateway-data.ts';
import { GatewayMetrics } from './metrics.ts';
import { metricsRoute } from './metrics-route.ts';
import { startSync } from './sync/start-sync.ts';
import { startAccuracyReports } from './sync/start-accuracy-reports.ts';
import { openSqliteHistory, type SqliteHistory } from './sqlite-history.ts';
import { ModelManager } from './forecast/model-manager.ts';
import type { ForecastLog } from './forecast/forecast-log.ts';
import { loadStartModels, startModelRollout, type RunningModelRollout } from './sync/start-model-rollout.ts';
import { SyncStatusPublisher } from './broker/sync-status.ts';
import type { SyncStatus } from './sync/sync-types.ts';

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
  private clockTrust: ClockTrust | null = null;
  private stopStoreStatus: (() => void) | null = null;
  private stopFlushing: (() => void) | null = null;
  private sync: ReturnType<typeof startSync> = null;
  /** Posts the forecast log's rolling error to the central server (sync on); independent of the uplink. */
  private accuracyReports: ReturnType<typeof startAccuracyReports> = null;
  private broker: RunningBroker | null = null;
  private publisher: MqttPublisher | null = null;
  /** MQTT commands, HA discovery and ingest; `commands.register()` adds commands. */
  mqttSurface: MqttSurface | null = null;
  private forecaster: Forecaster | null = null;
  private scheduler: ForecastScheduler | null = null;
  private unwireAlerts: (() => void) | null = null;
  private scoring: { stop(): void; log: ForecastLog } | null = null;
  private models: ModelManager | null = null;
  private modelRollout: RunningModelRollout | null = null;
  private dashboard: RunningDashboard | null = null;
  private sources: ReadingSource[] = [];
  private pipeline: ReadingPipeline | null = null;
  private health: HealthMonitor | null = null;
  private probe: SqliteWriteProbe | null = null;
  /** The dashboard's per-minute means, read from the store's file (null: it averages readings). */
  private history: SqliteHistory | null = null;
  private detachers: (() => void)[] = [];
  private heartbeat: TimerHandle | null = null;
  private readonly log: Logger;
  /** Prometheus metrics on a registry owned here (served at /metrics on the dashboard port). */
  readonly metrics: GatewayMetrics;
  readonly startedAtMs: number;

  constructor(
    readonly config: Config,
    private readonly deps: GatewayDeps,
  ) {
    this.log = deps.logger;
    this.startedAtMs = deps.clock.now();
    this.metrics = new GatewayMetrics({
      bus: this.bus,
      clock: deps.clock,
      sources: {
        storeStats: () => this.store?.stats() ?? null,
        brokerClients: () => this.broker?.aedes.connectedClients ?? null,
        dashboard: () => this.dashboard?.stats() ?? null,
        model: () => this.forecaster?.info ?? null,
        syncBacklog: () => this.sync?.uplink.snapshot().backlog ?? 0,
      },
    });
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
    const clockTrust = new ClockTrust({
      mode: config.clock.trusted,
      clock: deps.clock,
      onTrusted: (wallMs) => this.log.info({ component: 'clock', wallMs }, 'wall clock trusted; earlier readings are re-timed from device uptime'),
    });
    this.clockTrust = clockTrust;
    await clockTrust.start();
    const store = new SqliteStore({
      dataDir: path.resolve(config.dataDir),
      maxPendingReadings: config.store.maxPendingReadings,
      retentionBytes: config.store.retentionBytes,
      syncEnabled: config.store.syncEnabled || config.sync.enabled,
      timeTrusted: () => clockTrust.isTrusted(),
      logger: (msg) => this.log.warn({ component: 'store' }, msg),
    });
    this.store = store;
    const probe = new SqliteWriteProbe({ dataDir: path.resolve(config.dataDir), clock: deps.clock });
    this.probe = probe;
    const storeCheck = new StoreWritableCheck({ clock: deps.clock, flushIntervalMs: config.store.flushIntervalMs, probe: () => probe.run() });
    // A full disk fails every tick: logged at once, then at most once a minute, and on recovery.
    const flushFailures = throttledFailureLog(deps.clock, 60_000, (err, suppressed) =>
      this.log.error({ component: 'store', err, ...(suppressed > 0 ? { failedSinceLastLog: suppressed } : {}) }, 'flush failed; readings kept in memory and retried'),
    );
    this.stopFlushing = startFlushTimer(storeCheck.instrument(store), deps.clock, config.store.flushIntervalMs, flushFailures.onError, (failedTicks) => {
      flushFailures.reset();
      this.log.info({ component: 'store', failedTicks }, 'flush recovered; buffered readings written');
    });
    this.sync = startSync(config.sync, store, this.bus, deps.clock, (r, reason) =>
      this.log.error({ component: 'sync', sensor: r.sensorId, bootId: r.bootId, seq: r.seq, wallTimeMs: r.wallTimeMs, reason }, 'central refused a reading; it is set aside (kept here, not sent again)'),
    );
    // The forecast log opens later (startForecasting), so it is read through this.scoring at each report.
    this.accuracyReports = startAccuracyReports({ sync: config.sync, source: { accuracy: () => this.scoring?.log.accuracy() ?? [] }, clock: deps.clock, logger: this.log.child({ component: 'sync' }) });

    if (config.mqtt.enabled) {
      this.broker = await startBroker({
        host: config.mqtt.host,
        port: config.mqtt.port,
        maxClients: config.mqtt.maxClients,
        topicPrefix: config.mqtt.topicPrefix,
        optionName: 'mqtt.port (or HYGROCAST_MQTT_PORT)',
        logger: this.log.child({ component: 'broker' }),
        auth: authFromConfig(config.mqtt),
        tls: config.mqtt.tls,
      });
      this.publisher = new MqttPublisher(this.broker.aedes, {
        prefix: config.mqtt.topicPrefix,
        clock: deps.clock,
        sensorsOf: (source) => this.pipeline?.sensorsOf(source) ?? [],
      });
      await this.publisher.online();
      this.stopStoreStatus = startStoreStatus({
        aedes: this.broker.aedes,
        prefix: config.mqtt.topicPrefix,
        clock: deps.clock,
        stats: () => this.store?.stats() ?? null,
        retentionBytes: config.store.retentionBytes,
        onError: (err) => this.log.error({ component: 'store', err }, 'store status not published'),
      });
      this.mqttSurface = await startMqttSurface({
        aedes: this.broker.aedes,
        publisher: this.publisher,
        mqtt: config.mqtt,
        bus: this.bus,
        logger: this.log.child({ component: 'mqtt' }),
        clock: deps.clock,
        swVersion: VERSION,
        // One HA binary_sensor per alert of the sensor (besides the combined one).
        alertIds: (sensorId) => (config.forecast.enabled ? alertsFor(config.forecast.alerts, sensorId).map((a) => a.id) : []),
        announcedAlerts: new FileAnnouncedAlerts(path.join(path.resolve(config.dataDir), ANNOUNCED_ALERTS_FILE), (err) =>
          this.log.warn({ component: 'mqtt', err }, 'home assistant alert entities not remembered; entities of removed alert rules may stay in HA'),
        ),
        health: () => this.healthResult(),
        sensors: () => ({ sensors: this.store?.sensors() ?? [], links: this.pipeline?.linkStates() ?? {} }),
        info: () => ({ gateway: config.gateway.id, version: VERSION, model: this.forecaster?.info.version ?? null }),
      });
      this.wirePublisher(this.publisher);
    }

    if (config.forecast.enabled) await this.startForecasting();

    this.metrics.start();
    const pipeline = new ReadingPipeline(store, this.bus, this.log.child({ component: 'pipeline' }), new QualityChecker({ ...config.quality, clock: deps.clock }));
    this.pipeline = pipeline;
    const data = new GatewayData({
      gatewayId: config.gateway.id,
      version: VERSION,
      startedAtMs: this.startedAtMs,
      store,
      pipeline,
      scheduler: () => this.scheduler,
      model: () => {
        const info = this.forecaster?.info;
        return info ? { ...info, stage: this.models?.stage ?? 'local' } : null;
      },
      health: () => this.healthResult(),
      brokerClients: () => this.broker?.aedes.connectedClients ?? null,
      history: (this.history = openSqliteHistory(path.resolve(config.dataDir), (err) => this.log.warn({ component: 'dashboard', err }, 'history reader not opened; snapshots average readings instead'))),
    });
    if (config.dashboard.enabled) {
      this.dashboard = await startDashboard({
        host: config.dashboard.host,
        port: config.dashboard.port,
        bus: this.bus,
        data,
        logger: this.log.child({ component: 'dashboard' }),
        extraRoutes: metricsRoute(this.metrics),
        optionName: 'dashboard.port (or HYGROCAST_DASHBOARD_PORT)',
      });
    }

    const fresh = new FreshReadingCheck({ clock: deps.clock, staleAfterMs: staleAfterMsFor(config.sources) });
    if (this.mqttSurface) {
      // MQTT sensors publish when they like, so no freshness check for these sources.
      for (const source of [this.mqttSurface.ingest, ...this.mqttSurface.sensorTopics]) {
        this.sources.push(source);
        this.detachers.push(pipeline.attach(source));
        await source.start();
      }
    }
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
    const modelsDir = path.join(path.resolve(this.config.dataDir), 'models');
    const load = async (file: string): Promise<Forecaster> => this.metrics.timed(await OnnxForecaster.load(file, { staleAfterSteps: this.config.forecast.staleAfterSteps }));
    const store = this.store;
    if (!store) return;
    try {
      // The manager's holder is what the scheduler forecasts with; models swap behind it.
      const start = await loadStartModels(modelsDir, modelPath, load, this.log.child({ component: 'forecast' }));
      this.models = new ModelManager({
        initial: start.initial,
        ...(start.resumeProbation ? { resumeProbation: start.resumeProbation } : {}),
        localPath: modelPath,
        load,
        store,
        clock: this.deps.clock,
        gate: () => this.scheduler,
        liveError: () => this.scoring?.log ?? null,
        report: (event) => this.modelRollout?.report(event) ?? Promise.resolve(),
      });
      this.forecaster = this.models.forecaster;
    } catch (err) {
      this.log.error({ component: 'forecast', err, modelPath }, 'model not loaded; forecasting is off, readings continue');
      return;
    }
    this.scheduler = new ForecastScheduler({
      store,
      forecaster: this.forecaster,
      bus: this.bus,
      clock: this.deps.clock,
      checkIntervalMs: this.config.forecast.checkIntervalMs,
      clockTrusted: () => this.clockTrust?.isTrusted() ?? true,
      // Scoring opens below; until it does (or if it cannot), the model's own band is published.
      calibrate: (f, level) => this.scoring?.log.calibrate(f, level) ?? f,
      onError: (err) => this.log.error({ component: 'forecast', err }, 'forecast cycle failed'),
    });
    // A refusal replaces the sensor's retained MQTT forecast with the reason (docs/mqtt.md, "Forecast").
    this.bus.on('noForecast', (info) => this.log.info({ component: 'forecast', ...info }, 'no forecast'));
    // The manager's holder: the interval level is the active model's at each forecast.
    this.unwireAlerts = startAlerts({ bus: this.bus, rules: this.config.forecast.alerts, clock: this.deps.clock, model: this.forecaster });
    try {
      const onError = (err: unknown): void => this.log.error({ component: 'forecast', err }, 'forecast scoring failed');
      this.scoring = startForecastScoring({ dataDir: path.resolve(this.config.dataDir), store, bus: this.bus, clock: this.deps.clock, stepMs: this.forecaster.info.stepS * 1000, staleAfterSteps: this.config.forecast.staleAfterSteps, bandCalibration: this.config.forecast.bandCalibration, onError });
    } catch (err) {
      this.log.error({ component: 'forecast', err }, 'forecast log not opened; forecasts are not stored or scored');
    }
    this.scheduler.start();
    try {
      this.modelRollout = startModelRollout({ sync: this.config.sync, modelsDir, manager: this.models, clock: this.deps.clock, logger: this.log.child({ component: 'models' }) });
    } catch (err) {
      // A missing or unreadable pinned key stops model updates, not the readings (`hygrocast doctor` names it too).
      this.log.error({ component: 'models', err }, 'model updates are off');
    }
  }

  private wirePublisher(publisher: MqttPublisher): void {
    const onError = (err: unknown): void => this.log.error({ component: 'broker', err }, 'publish failed');
    // With its source, so a sensor's first reading also publishes its link topic (the source's
    // link state was announced before the sensor was known).
    this.bus.on('reading', (r) => publisher.publishReading(r, this.pipeline?.sourceOf(r.sensorId) ?? undefined).catch(onError));
    this.bus.on('forecast', (f) => publisher.publishForecast(f).catch(onError));
    // A refusal replaces the retained forecast with available: false and the reason.
    this.bus.on('noForecast', (info) => publisher.publishNoForecast(info).catch(onError));
    this.bus.on('alert', (combined, changed) => publisher.publishAlerts(combined.sensor, combined, changed).catch(onError));
    this.bus.on('forecastError', (r) => publisher.publishForecastError(r).catch(onError));
    this.bus.on('link', (source, state, detail) => publisher.publishLink(source, state, detail).catch(onError));
    const prefix = this.config.mqtt.topicPrefix;
    const syncStatus = new SyncStatusPublisher({ clock: this.deps.clock, onError, publish: (payload) => publisher.publishMessages([{ topic: `${prefix}/bridge/sync`, payload, retain: true }]) });
    const onSync = (status: SyncStatus): void => syncStatus.update(status);
    this.bus.on('sync', onSync);
    // Off the bus first: the uplink's last status at stop must not reach a closed broker.
    this.detachers.push(() => {
      this.bus.off('sync', onSync);
      syncStatus.stop();
    });
    const syncNow = this.sync?.uplink.snapshot();
    if (syncNow) syncStatus.update(syncNow);
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
    // Every reading taken is in the buffer now: make it durable before the slower steps below
    // (a hung sync request, a slow broker close), which a second signal or systemd's stop timeout
    // may cut short.
    try {
      this.store?.flush();
    } catch (err) {
      this.log.error({ err }, 'flush at stop failed; retried when the store closes');
    }
    await this.dashboard?.close().catch((err: unknown) => this.log.error({ err }, 'dashboard close failed'));
    this.dashboard = null;
    this.history?.close();
    this.history = null;
    await this.modelRollout?.stop().catch((err: unknown) => this.log.error({ err }, 'model rollout stop failed'));
    this.modelRollout = null;
    await this.accuracyReports?.stop().catch((err: unknown) => this.log.error({ err }, 'accuracy reports stop failed'));
    this.accuracyReports = null;
    this.scheduler?.stop();
    this.scheduler = null;
    this.unwireAlerts?.();
    this.unwireAlerts = null;
    this.scoring?.stop();
    this.scoring = null;
    await this.forecaster?.close().catch((err: unknown) => this.log.error({ err }, 'forecaster close failed'));
    this.forecaster = null;
    this.models = null;
    this.stopStoreStatus?.();
    this.stopStoreStatus = null;
    await this.mqttSurface?.stop().catch((err: unknown) => this.log.error({ err }, 'mqtt surface stop failed'));
    this.mqttSurface = null;
    await this.publisher?.offline().catch((err: unknown) => this.log.error({ err }, 'offline status not published'));
    this.publisher = null;
    await this.broker?.close().catch((err: unknown) => this.log.error({ err }, 'broker close failed'));
    this.broker = null;
    await this.sync?.stop().catch((err: unknown) => this.log.error({ err }, 'sync uplink stop failed'));
    this.sync = null;
    this.stopFlushing?.();
    this.stopFlushing = null;
    try {
      this.store?.close();
    } catch (err) {
      this.log.error({ err }, 'store close failed');
    }
    this.store = null;
    this.clockTrust?.stop();
    this.clockTrust = null;
    this.probe?.close();
    this.probe = null;
    this.metrics.stop();
    this.bus.removeAllListeners();
  }

  forecasterInfo(): Forecaster['info'] | null {
    return this.forecaster?.info ?? null;
  }
}
