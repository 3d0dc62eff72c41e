import type { Aedes } from 'aedes';
import { systemClock, type Clock } from '../clock.ts';
import type { Forecast, LinkState, Reading } from '../types.ts';
import { setMostRecent } from '../recent-map.ts';
import { BrokerError } from './errors.ts';
import {
  DEFAULT_TOPIC_PREFIX,
  MAX_ALERT_RULES,
  alertMessage,
  alertOfMessage,
  availabilityMessage,
  encodeLink,
  forecastErrorMessage,
  forecastMessage,
  noForecastMessage,
  readingMessages,
  topicsFor,
  type AlertPayload,
  type ForecastErrorPayload,
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

/**
 * Sensor-to-source associations learned from readings, and sensors whose retained topics are
 * remembered for republish(); bounds both maps on a gateway with a runaway publisher.
 */
export const MAX_TRACKED_SENSORS = 1024;
/** Alerts of one sensor: one per config rule and direction. */
export const MAX_ALERTS_PER_SENSOR = 2 * MAX_ALERT_RULES;
/**
 * Retained topics remembered for republish() per sensor: every topic a sensor can have. 16 for its
 * own topics and discovery configs (state, humidity, temperature, forecast, forecast_error, link,
 * alert; configs of humidity, temperature, link, alert and up to 5 forecast horizons), then a
 * topic and a discovery config per alert, for the current alerts and for as many of a previous
 * run's (discovery.ts alertRemovalMessages clears those with empty payloads). 272 with 32 rules.
 */
export const MAX_TOPICS_PER_SENSOR = 16 + 2 * 2 * MAX_ALERTS_PER_SENSOR;
/** Retained topics of the gateway itself (`<prefix>/bridge/...`) remembered for republish(), oldest forgotten first. */
export const MAX_GATEWAY_TOPICS = 64;

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
  /**
   * Last retained payload per topic, for republish() (HA birth): the gateway's own topics, and per
   * sensor, least recently published sensor first. A sensor is forgotten whole (the least recently
   * published one, beyond MAX_TRACKED_SENSORS), never topic by topic, so republish() restores every
   * topic of every live sensor. At most MAX_TRACKED_SENSORS x MAX_TOPICS_PER_SENSOR messages; in
   * practice one per topic the broker retains anyway.
   */
  private readonly gatewayRetained = new Map<string, MqttMessage>();
  private readonly sensorRetained = new Map<string, Map<string, MqttMessage>>();

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
    await this.send(null, [availabilityMessage(this.topics, true)]);
  }

  /** Publishes `offline` (retained) on `<prefix>/bridge/state` and stops publishing. */
  async offline(): Promise<void> {
    this.running = false;
    await this.send(null, [availabilityMessage(this.topics, false)]);
  }

  /** The reading's state and plain-number topics; `source` (optional) associates the sensor with its link. */
  async publishReading(reading: Reading, source?: string): Promise<void> {
    if (!this.running) return;
    const messages = readingMessages(this.topics, reading);
    if (source !== undefined) messages.push(...this.learn(reading.sensorId, source));
    await this.send(reading.sensorId, messages);
  }

  async publishForecast(forecast: Forecast): Promise<void> {
    if (!this.running) return;
    await this.send(forecast.sensorId, [forecastMessage(this.topics, forecast)]);
  }

  /** Replaces the sensor's retained forecast with `available: false` and the reason (docs/mqtt.md, "Forecast"). */
  async publishNoForecast(refusal: ForecastRefusal): Promise<void> {
    if (!this.running) return;
    await this.send(refusal.sensorId, [noForecastMessage(this.topics, refusal, this.clock.now())]);
  }

  /**
   * The alerts a forecast changed, each on `<prefix>/<sensorId>/alert/<id>`, then the combined
   * state on `<prefix>/<sensorId>/alert`, in one batch (all retained; docs/mqtt.md, "Alerts").
   */
  async publishAlerts(sensorId: string, combined: AlertPayload, changed: readonly AlertPayload[]): Promise<void> {
    if (!this.running) return;
    const messages = changed.map((a) => alertOfMessage(this.topics, sensorId, a));
    await this.send(sensorId, [...messages, alertMessage(this.topics, sensorId, combined)]);
  }

  /** The sensor's rolling forecast error on `<prefix>/<sensor>/forecast_error` (docs/mqtt.md). */
  async publishForecastError(report: ForecastErrorPayload): Promise<void> {
    if (!this.running) return;
    await this.send(report.sensor, [forecastErrorMessage(this.topics, report)]);
  }

  /**
   * Publishes prepared messages even before online(): those of `sensorId` (its discovery configs),
   * or without it the gateway's own (`<prefix>/bridge/sync`).
   */
  async publishMessages(messages: readonly MqttMessage[], sensorId?: string): Promise<void> {
    await this.send(sensorId ?? null, [...messages]);
  }

  /** The link state of `source`, on the link topic of every sensor it feeds. */
  async publishLink(source: string, state: LinkState, detail: string): Promise<void> {
    const status = { state, detail, atMs: this.clock.now() };
    this.links.set(source, status);
    if (!this.running) return;
    const sensors = new Set([...this.sensorsOf(source), ...[...this.learned].filter(([, s]) => s === source).map(([id]) => id)]);
    await Promise.all([...sensors].map((id) => this.send(id, [this.linkMessage(id, source, status)])));
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

  /**
   * Publishes again every retained message sent so far (latest per topic), e.g. when Home Assistant
   * comes online: the gateway's own, then per sensor, least recently published topic first (a
   * sensor's discovery configs, published once, before its state).
   */
  async republish(): Promise<void> {
    const sensors = [...this.sensorRetained.values()].flatMap((topics) => [...topics.values()]);
    await Promise.all([...this.gatewayRetained.values(), ...sensors].map((m) => this.publishOne(m)));
  }

  /** Remembers the retained messages of `sensorId` (null: the gateway's own), then publishes all. */
  private async send(sensorId: string | null, messages: MqttMessage[]): Promise<void> {
    const retained = messages.filter((m) => m.retain);
    if (retained.length > 0) {
      const topics = sensorId === null ? this.gatewayRetained : this.sensorTopics(sensorId);
      const max = sensorId === null ? MAX_GATEWAY_TOPICS : MAX_TOPICS_PER_SENSOR;
      for (const m of retained) setMostRecent(topics, m.topic, m, max);
    }
    await Promise.all(messages.map((m) => this.publishOne(m)));
  }

  /** The sensor's remembered topics, its entry made the most recently published sensor. */
  private sensorTopics(sensorId: string): Map<string, MqttMessage> {
    const topics = this.sensorRetained.get(sensorId) ?? new Map<string, MqttMessage>();
    setMostRecent(this.sensorRetained, sensorId, topics, MAX_TRACKED_SENSORS);
    return topics;
  }

  /**
   * Aedes numbers a packet when publish() is called but stores a retained one (asynchronously)
   * before it emits it; a client's non-retained publish in between overtakes it, and Aedes's
   * per-client dedupe (by number) then drops ours for every subscriber of both: a Node-RED flow on
   * `hygrocast/#` missed sensor states live (moscajs/aedes#994). So with a real broker the retained
   * copy is stored first and the live message goes out non-retained, emitted at once: live
   * delivery to existing subscribers carries retain 0 anyway [MQTT-3.3.1-9], and a new subscriber
   * gets the stored copy, retained.
   */
  private async publishOne(m: MqttMessage): Promise<void> {
    const payload = Buffer.from(m.payload, 'utf8');
    const store = (this.aedes as { persistence?: RetainedStore }).persistence;
    const storeFirst = m.retain && typeof store?.storeRetained === 'function';
    try {
      if (storeFirst) await store!.storeRetained({ cmd: 'publish', topic: m.topic, payload, qos: 0, retain: true, dup: false });
    } catch (err) {
      throw new BrokerError('PUBLISH_FAILED', `storing the retained ${m.topic} failed: ${(err as Error).message}`, { cause: err });
    }
    return new Promise((resolve, reject) => {
      this.aedes.publish(
        { cmd: 'publish', topic: m.topic, payload, qos: 0, retain: m.retain && !storeFirst, dup: false },
        (err?: Error) => (err ? reject(new BrokerError('PUBLISH_FAILED', `publishing ${m.topic} failed: ${err.message}`, { cause: err })) : resolve()),
      );
    });
  }
}

/** The part of Aedes's persistence the publisher uses (aedes-persistence storeRetained: an empty payload deletes). */
interface RetainedStore {
  storeRetained(packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0; retain: true; dup: false }): Promise<void>;
}
