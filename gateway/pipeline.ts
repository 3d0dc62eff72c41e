import type { GatewayBus } from './events.ts';
import type { Logger } from './log.ts';
import type { ReadingSource } from './sources/source.ts';
import type { ReadingStore } from './store/store.ts';
import type { LinkState, Reading } from './types.ts';
import { QualityChecker } from './quality.ts';

/**
 * The reading path: every reading from every source is appended to the store (buffered,
 * durable at the next flush) and then announced on the bus, where the broker, the dashboard
 * and metrics pick it up. The store comes first so a reading the dashboard shows is one the
 * gateway keeps.
 */
export class ReadingPipeline {
  private readonly links = new Map<string, { state: LinkState; detail: string }>();
  /** Which source delivered each sensor's latest reading (bounded by the number of sensors). */
  private readonly sensorSources = new Map<string, string>();

  constructor(
    private readonly store: ReadingStore,
    private readonly bus: GatewayBus,
    private readonly log: Logger,
    /** Quality flags (gateway/quality.ts) added to every reading before it is stored and announced. */
    private readonly quality: QualityChecker = new QualityChecker(),
  ) {}

  /** Subscribes to a source's events; returns a function that unsubscribes. */
  attach(source: ReadingSource): () => void {
    const onReading = (reading: Reading): void => {
      this.sensorSources.set(reading.sensorId, source.name);
      this.accept(reading);
    };
    const onLink = (state: LinkState, detail: string): void => {
      // A gap in the link: each sensor's next reading is flagged stale.
      if (state === 'down' && this.links.get(source.name)?.state === 'up') this.quality.noteLinkGap(this.sensorsOf(source.name));
      this.links.set(source.name, { state, detail });
      this.log.info({ source: source.name, state, detail }, 'link state');
      this.bus.emit('link', source.name, state, detail);
    };
    const onRejected = (reason: string, line: string): void => {
      this.log.debug({ source: source.name, reason, line: line.slice(0, 80) }, 'line rejected');
      this.bus.emit('rejected', source.name, reason);
    };
    const onWarning = (message: string): void => this.log.warn({ source: source.name }, message);
    const onLost = (count: number, detail: string): void => {
      this.log.warn({ source: source.name, lost: count }, detail);
      this.bus.emit('lost', source.name, count);
    };
    source.on('reading', onReading);
    source.on('link', onLink);
    source.on('rejected', onRejected);
    source.on('warning', onWarning);
    source.on('lost', onLost);
    return () => {
      source.off('reading', onReading);
      source.off('link', onLink);
      source.off('rejected', onRejected);
      source.off('warning', onWarning);
      source.off('lost', onLost);
    };
  }

  /**
   * Stores then announces one reading. A reading the store refuses (invalid field) is logged
   * and dropped here, so one bad reading never stops the source that produced it. A duplicate
   * (a firmware resending after a link drop) is counted by the store and not announced again:
   * MQTT, the dashboard and `hygrocast_readings_total` see each reading once.
   */
  accept(incoming: Reading): void {
    const reading = this.quality.assess(incoming);
    try {
      if (!this.store.append(reading)) return;
    } catch (err) {
      this.log.error({ err, sensorId: reading.sensorId }, 'reading refused by the store');
      return;
    }
    // Trace level only: the crash test (test/kill.test.ts) compares what was accepted with what survived.
    this.log.trace({ sensorId: reading.sensorId, bootId: reading.bootId, seq: reading.seq }, 'reading accepted');
    this.bus.emit('reading', reading);
  }

  /** Sensors whose latest reading came from `source`. */
  sensorsOf(source: string): string[] {
    return [...this.sensorSources].filter(([, s]) => s === source).map(([sensorId]) => sensorId);
  }

  sourceOf(sensorId: string): string | null {
    return this.sensorSources.get(sensorId) ?? null;
  }

  linkStates(): Record<string, { state: LinkState; detail: string }> {
    return Object.fromEntries(this.links);
  }
}
