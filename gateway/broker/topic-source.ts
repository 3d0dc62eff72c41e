import type { Aedes } from 'aedes';
import { RH_MAX, RH_MIN, TEMP_MAX_C, TEMP_MIN_C } from '../../firmware-bridge/messages.ts';
import type { Clock } from '../clock.ts';
import { InProcessMqttSource } from './ingest.ts';

/**
 * Why a message on a sensor topic gave no reading, counted per reason (rejectedCounts()).
 * `no_humidity` is counted but not reported as a rejection: a topic pattern such as
 * `zigbee2mqtt/+` also carries switches, plugs and motion sensors, and messages about a
 * sensor's battery or link alone.
 */
export type TopicRejectReason = 'too_large' | 'not_json' | 'invalid_payload' | 'invalid_sensor_id' | 'no_humidity';

export interface MqttTopicSourceOptions {
  /**
   * Topic filter with exactly one `+` level, which names the sensor (e.g. `zigbee2mqtt/+`,
   * `tele/+/SENSOR`); no `#`. Config `mqtt.sensorTopics[].topic`.
   */
  topic: string;
  /**
   * Path of the %RH number in the JSON payload, dot-separated for nested objects
   * (`AM2301.Humidity`), or '' when the payload is the bare number (ESPHome's `.../state`
   * topics, Zigbee2MQTT's attribute output).
   */
  humidity: string;
  /** Path of the °C number, or '' for none. A value that is absent or not a temperature leaves the reading's temperature empty. */
  temperature: string;
  /** Larger payloads are rejected unread, in bytes. Default 1024. */
  maxPayloadBytes?: number;
  /** Default systemClock. */
  clock?: Clock;
}

/**
 * Readings from sensors that publish JSON on their own topics on the embedded broker, as
 * Zigbee2MQTT (`zigbee2mqtt/<device>` `{"humidity":61.2,"temperature":21.5,"battery":100,...}`),
 * Tasmota (`tele/<device>/SENSOR` `{"AM2301":{"Humidity":..}}`) do, or a bare number per topic as
 * ESPHome (`esphome/<node>/sensor/humidity/state` `61.2`) does. The `+` level of
 * the topic is the sensor id; fields other than the configured ones are ignored (these payloads
 * carry battery, link quality and more). Time is the time of reception, seq a per-sensor counter.
 * Nothing is ever published under the foreign topics: rejections are counted by reason and
 * reported as 'rejected' events (logged and counted by the pipeline), except `no_humidity`.
 */
export class MqttTopicSource extends InProcessMqttSource {
  readonly name: string;
  private readonly sensorLevel: number;
  private readonly humidityPath: string[];
  private readonly temperaturePath: string[] | null;

  constructor(aedes: Pick<Aedes, 'subscribe' | 'unsubscribe' | 'publish'>, options: MqttTopicSourceOptions) {
    const problem = sensorTopicProblem(options.topic);
    if (problem) throw new RangeError(`sensor topic "${options.topic}": ${problem}`);
    super(aedes, options.topic, options);
    this.name = `mqtt:${options.topic}`;
    this.sensorLevel = options.topic.split('/').indexOf('+');
    this.humidityPath = options.humidity === '' ? [] : options.humidity.split('.');
    this.temperaturePath = options.temperature === '' ? null : options.temperature.split('.');
  }

  protected handle(topic: string, payload: Buffer): void {
    const sensorId = topic.split('/')[this.sensorLevel] ?? '';
    const decoded = this.decode(sensorId, payload);
    if ('reason' in decoded) return this.reject(decoded.reason, decoded.reason === 'invalid_sensor_id' ? `${topic}: ${decoded.text}` : decoded.text);
    const { json, text } = decoded;
    const rh = valueAt(json, this.humidityPath);
    if (rh === undefined || rh === null) {
      this.count('no_humidity');
      return;
    }
    if (typeof rh !== 'number' || !(rh >= RH_MIN && rh <= RH_MAX)) return this.reject('invalid_payload', text);
    const t = this.temperaturePath === null ? undefined : valueAt(json, this.temperaturePath);
    const temperature = typeof t === 'number' && t >= TEMP_MIN_C && t <= TEMP_MAX_C ? t : null;
    this.emit('reading', this.reading(sensorId, { humidity: rh, temperature }));
  }

  private reject(reason: Exclude<TopicRejectReason, 'no_humidity'>, text: string): void {
    this.count(reason);
    this.emit('rejected', reason, text.slice(0, 200));
  }
}

/** Why `topic` cannot be a sensor topic filter, or null. */
export function sensorTopicProblem(topic: string): string | null {
  const levels = topic.split('/');
  if (levels.some((l) => l.includes('#'))) return 'no # wildcard: one + level names the sensor';
  if (levels.filter((l) => l === '+').length !== 1) return 'exactly one + level, which names the sensor';
  if (levels.some((l) => l.includes('+') && l !== '+')) return '+ only as a whole level';
  if (levels[0] === '+' || levels[0] === '' || levels[0]?.startsWith('$')) return 'the first level must be a plain name (not +, empty or $SYS)';
  return null;
}

/** The value at a dot path of parsed JSON; undefined when a step is missing. */
function valueAt(json: unknown, pathParts: readonly string[]): unknown {
  let v: unknown = json;
  for (const key of pathParts) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
