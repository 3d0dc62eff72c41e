import type { Aedes } from 'aedes';
import { systemClock, type Clock } from '../clock.ts';
import type { Forecast, LinkState, Reading } from '../types.ts';
import { BrokerError } from './errors.ts';
import {
  DEFAULT_TOPIC_PREFIX,
  alertMessage,
  alertOfMessage,
  availabilityMessage,
  encodeLink,
  forecastMessage,
  noForecastMessage,
  readingMessages,
  topicsFor,
  type AlertPayload,
  type ForecastRefusal,
  type MqttMessage,
  type Topics,
} from './topics.ts';

export interface PublisherOptions {
  /** First topic level(s). Default 'hygrocast'. */
  prefix?: string;
  /** Timestamps of link messages. Default systemClock. */
  clock?: Clock;
  /**
   * Sensors fed by a source, for `<prefix>/<sensorId>/link`. Sensors are also learned from
   * publishReading(reading, source). A source with no known sensor publishes nothing.
   */
  sensorsOf?: (source: string) => readonly string[];
}

/** Sensor-to-source associations learned from readings; bounds the map on a gateway with a runaway publisher. */
export const MAX_TRACKED_SENSORS = 1024;
/** Retained topics remembered for republish(); ~8 per sensor, oldest forgotten first. */
export const MAX_REMEMBERED_TOPICS = 8 * MAX_TRACKED_SENSORS;

interface LinkStatus {
  state: LinkState;
  detail: string;
  atMs: number;
}

/**
 * Publishes the gateway's state on the embedded broker, in process (aedes.publish, no socket),
 * QoS 0 and retained (docs/mqtt.md says why). Every method resolves once the broker has taken
 * the message, or rejects with a BrokerError (PUBLISH_FAILED, INVALID_SENSOR_ID,
 * RESERVED_SENSOR_ID): one error route, the promise. After offline() the publisher is stopped:
 * reading, forecast and link publishes resolve without publishing until online() is called again,
 * so nothing late overwrites the retained state of a stopping gateway.
 */
export class MqttPublisher {
  private readonly topics: Topics;
  private readonly clock: Clock;
  private readonly sensorsOf: (source: string) => readonly string[];
  private readonly learned = new Map<string, string>();
  private readonly links = new Map<string, LinkStatus>();
  private running = false;
  /** Last retained payload per topic, for republish() (HA birth); bounded by MAX_REMEMBERED_TOPICS. */
  private readonly retained = new Map<string, MqttMessage>();

  constructor(
    private readonly aedes: Pick<Aedes, 'publish'>,
    options: PublisherOptions = {},
  ) {
    this.topics = topicsFor(options.prefix ?? DEFAULT_TOPIC_PREFIX);
    this.clock = options.clock ?? systemClock;
    this.sensorsOf = options.sensorsOf ?? (() => []);
  }

  /** Publishes `online` (retained) on `<prefix>/bridge/state` and starts publishing. */
  async online(): Promise<void> {
    this.running = true;
    await this.send([availabilityMessage(this.topics, true)]);
  }

  /** Publishes `offline` (retained) on `<prefix>/bridge/state` and stops publishing. */
  async offline(): Promise<void> {
    this.running = false;
    await this.send([availabilityMessage(this.topics, false)]);
  }

  /** The reading's state and plain-number topics; `source` (optional) associates the sensor with its link. */
  async publishReading(reading: Reading, source?: string): Promise<void> {
    if (!this.running) return;
    const messages = readingMessages(this.topics, reading);
    if (source !== undefined) messages.push(...this.learn(reading.sensorId, source));
    await this.send(messages);
  }

  async publishForecast(forecast: Forecast): Promise<void> {
    if (!this.running) return;
    await this.send([forecastMessage(this.topics, forecast)]);
  }

  /** Replaces the sensor's retained forecast with `available: false` and the reason (docs/mqtt.md, "Forecast"). */
  async publishNoForecast(refusal: ForecastRefusal): Promise<void> {
    if (!this.running) return;
    await this.send([noForecastMessage(this.topics, refusal, this.clock.now())]);
  }

  /**
   * The alerts a forecast changed, each on `<prefix>/<sensorId>/alert/<id>`, then the combined
   * state on `<prefix>/<sensorId>/alert`, in one batch (all retained; docs/mqtt.md, "Alerts").
   */
  async publishAlerts(sensorId: string, combined: AlertPayload, changed: readonly AlertPayload[]): Promise<void> {
    if (!this.running) return;
    const messages = changed.map((a) => alertOfMessage(this.topics, sensorId, a));
    await this.send([...messages, alertMessage(this.topics, sensorId, combined)]);
  }

  /** Publishes prepared messages (discovery configs, command responses) even before online(). */
  async publishMessages(messages: readonly MqttMessage[]): Promise<void> {
    await this.send([...messages]);
  }

  /** The link state of `source`, on the link topic of every sensor it feeds. */
  async publishLink(source: string, state: LinkState, detail: string): Promise<void> {
    const status = { state, detail, atMs: this.clock.now() };
    this.links.set(source, status);
    if (!this.running) return;
    const sensors = new Set([...this.sensorsOf(source), ...[...this.learned].filter(([, s]) => s === source).map(([id]) => id)]);
    await this.send([...sensors].map((id) => this.linkMessage(id, source, status)));
  }

  /** Records sensorId -> source; the first time, also returns the source's current link message. */
  private learn(sensorId: string, source: string): MqttMessage[] {
    if (this.learned.get(sensorId) === source) return [];
    if (!this.learned.has(sensorId) && this.learned.size >= MAX_TRACKED_SENSORS) return [];
    this.learned.set(sensorId, source);
    const status = this.links.get(source);
    return status ? [this.linkMessage(sensorId, source, status)] : [];
  }

  private linkMessage(sensorId: string, source: string, status: LinkStatus): MqttMessage {
    return { topic: this.topics.link(sensorId), payload: encodeLink(source, status.state, status.detail, status.atMs), retain: true };
  }

  /** Publishes again every retained message sent so far (latest per topic), e.g. when Home Assistant comes online. */
  async republish(): Promise<void> {
    await this.send([...this.retained.values()]);
  }

  private async send(messages: MqttMessage[]): Promise<void> {
    for (const m of messages) {
      if (!m.retain) continue;
      this.retained.delete(m.topic); // re-insert: Map order is then least recently published first
      this.retained.set(m.topic, m);
      if (this.retained.size > MAX_REMEMBERED_TOPICS) this.retained.delete(this.retained.keys().next().value!);
    }
    await Promise.all(messages.map((m) => this.publishOne(m)));
  }

  private publishOne(m: MqttMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish(
        { cmd: 'publish', topic: m.topic, payload: Buffer.from(m.payload, 'utf8'), qos: 0, retain: m.retain, dup: false },
        (err?: Error) => (err ? reject(new BrokerError('PUBLISH_FAILED', `publishing ${m.topic} failed: ${err.message}`, { cause: err })) : resolve()),
      );
    });
  }
}
