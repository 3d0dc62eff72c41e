import { BrokerError } from './errors.ts';
import { checkPrefix, checkSensorId, topicsFor, type MqttMessage, type Topics } from './topics.ts';

/**
 * Home Assistant MQTT discovery (docs/mqtt.md, "Home Assistant"), as pure functions: the retained
 * configs on `<discoveryPrefix>/<component>/<nodeId>/<objectId>/config` for one sensor. Every
 * entity belongs to one device (the gateway), carries a unique_id (HA only attaches entities with
 * one to a device) and has its availability on the gateway's last will `<prefix>/bridge/state`.
 */

export interface DiscoveryOptions {
  /** The gateway's topic prefix (state topics are under it). */
  prefix: string;
  /** Default 'homeassistant', HA's own default. */
  discoveryPrefix?: string;
  /** Gateway software version, shown by HA as the device's firmware. */
  swVersion: string;
  /** Forecast horizons published as sensors, in seconds. Default 1 h and 6 h. */
  horizonsS?: readonly number[];
}

export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';
export const DEFAULT_HORIZONS_S: readonly number[] = [3600, 21600];

/** HA node and object ids allow only these characters. */
const HA_ID = /[^A-Za-z0-9_-]/g;

export function nodeIdOf(prefix: string): string {
  return `hygrocast_${checkPrefix(prefix).replace(HA_ID, '_')}`;
}

/**
 * Where HA reads an entity's availability, in one of HA's two forms, never both: one topic (the
 * gateway's last will), or a list of topics combined by `availability_mode`.
 */
export type Availability =
  | { availability_topic: string; payload_available: string; payload_not_available: string; availability?: never; availability_mode?: never }
  | {
      availability: Array<{ topic: string; payload_available: string; payload_not_available: string; value_template?: string }>;
      availability_mode: 'all' | 'any' | 'latest';
      availability_topic?: never;
      payload_available?: never;
      payload_not_available?: never;
    };

/** An entity's own fields; its availability is given apart (entity()), so none of these may set it. */
type EntityFields = Record<string, unknown> & { state_topic: string } & { [K in 'availability_topic' | 'payload_available' | 'payload_not_available' | 'availability' | 'availability_mode']?: never };

/** One HA entity's config payload; field names as in HA's MQTT discovery documentation (full names, no abbreviations). */
export type DiscoveryConfig = Record<string, unknown> &
  Availability & {
    name: string;
    unique_id: string;
    state_topic: string;
    device: { identifiers: string[]; name: string; model: string; manufacturer: string; sw_version: string };
  };

/**
 * The discovery messages of one sensor: humidity, temperature, forecast per horizon, link, the
 * combined alert (on while any of the sensor's alerts is on) and one binary_sensor per alert of
 * `alertIds` (one per rule and direction, gateway/forecast/alerts.ts alertsFor).
 */
export function discoveryMessages(options: DiscoveryOptions, sensorId: string, alertIds: readonly string[] = []): MqttMessage[] {
  checkSensorId(sensorId);
  const topics = topicsFor(options.prefix);
  const node = nodeIdOf(options.prefix);
  const device = { identifiers: [node], name: `hygrocast (${options.prefix})`, model: 'hygrocast edge gateway', manufacturer: 'hygrocast', sw_version: options.swVersion };
  const origin = { name: 'hygrocast', sw_version: options.swVersion };
  const gateway = gatewayAvailability(topics);
  const entity = (component: 'sensor' | 'binary_sensor', object: string, name: string, availability: Availability, fields: EntityFields): MqttMessage => {
    const objectId = objectIdOf(sensorId, object);
    const payload: DiscoveryConfig = { ...availability, device, origin, name: `${sensorId} ${name}`, unique_id: `${node}_${objectId}`, ...fields };
    return { topic: configTopic(options, component, sensorId, object), payload: JSON.stringify(payload), retain: true };
  };
  // `None` renders to HA's "unknown" state, so a null value or a missing horizon is not an error in HA.
  const measurement = (field: 'humidity' | 'temperature', deviceClass: string, unit: string) => ({
    state_topic: topics.state(sensorId),
    value_template: `{{ value_json.${field} if value_json.${field} is not none else None }}`,
    device_class: deviceClass,
    state_class: 'measurement',
    unit_of_measurement: unit,
  });
  const messages = [
    entity('sensor', 'humidity', 'humidity', gateway, measurement('humidity', 'humidity', '%')),
    entity('sensor', 'temperature', 'temperature', gateway, measurement('temperature', 'temperature', '°C')),
  ];
  for (const h of options.horizonsS ?? DEFAULT_HORIZONS_S) {
    if (!Number.isSafeInteger(h) || h <= 0) throw new BrokerError('BROKER_INVALID_OPTION', `forecast horizon must be a positive whole number of seconds (got ${h})`);
    const label = h % 3600 === 0 ? `${h / 3600}h` : `${h}s`;
    messages.push(
      entity('sensor', `forecast_${label}`, `humidity forecast ${label}`, forecastAvailability(topics, sensorId), {
        state_topic: topics.forecast(sensorId),
        value_template: `{% set p = value_json.points | selectattr('horizon_s', 'eq', ${h}) | list %}{{ p[0].humidity if p else None }}`,
        json_attributes_topic: topics.forecast(sensorId),
        json_attributes_template: `{{ {'model_version': value_json.model_version, 'interval_level': value_json.interval_level, 'base_time': value_json.base_time, 'warming_up': value_json.warming_up} | tojson }}`,
        device_class: 'humidity',
        state_class: 'measurement',
        unit_of_measurement: '%',
      }),
    );
  }
  messages.push(
    entity('binary_sensor', 'link', 'link', gateway, {
      state_topic: topics.link(sensorId),
      // 'connecting' counts as not connected: HA's binary_sensor knows only payload_on/payload_off.
      value_template: "{{ 'up' if value_json.state == 'up' else 'down' }}",
      payload_on: 'up',
      payload_off: 'down',
      device_class: 'connectivity',
      entity_category: 'diagnostic',
    }),
    entity('binary_sensor', 'alert', 'humidity alert', gateway, alertConfig(topics.alert(sensorId))),
    ...alertIds.map((id) => entity('binary_sensor', alertObjectId(id), `humidity alert ${id}`, gateway, alertConfig(topics.alertOf(sensorId, id)))),
  );
  return messages;
}

/** The object id (after `<sensorId>_`) of one alert's binary_sensor. */
export function alertObjectId(alertId: string): string {
  return `alert_${alertId}`;
}

/**
 * Removes the binary_sensors of alerts the sensor no longer has (their rule left the config):
 * an empty retained config makes HA delete the entity, and an empty retained payload on the
 * alert's topic clears its last state from the broker [MQTT-3.3.1-10].
 */
export function alertRemovalMessages(options: DiscoveryOptions, sensorId: string, alertIds: readonly string[]): MqttMessage[] {
  const topics = topicsFor(options.prefix);
  return alertIds.flatMap((id) => [
    { topic: configTopic(options, 'binary_sensor', sensorId, alertObjectId(id)), payload: '', retain: true },
    { topic: topics.alertOf(sensorId, id), payload: '', retain: true },
  ]);
}

function objectIdOf(sensorId: string, object: string): string {
  return `${checkSensorId(sensorId)}_${object}`.replace(HA_ID, '_');
}

function configTopic(options: DiscoveryOptions, component: 'sensor' | 'binary_sensor', sensorId: string, object: string): string {
  const discoveryPrefix = checkPrefix(options.discoveryPrefix ?? DEFAULT_DISCOVERY_PREFIX);
  return `${discoveryPrefix}/${component}/${nodeIdOf(options.prefix)}/${objectIdOf(sensorId, object)}/config`;
}

function alertConfig(stateTopic: string) {
  return { state_topic: stateTopic, value_template: '{{ value_json.state }}', payload_on: 'on', payload_off: 'off', json_attributes_topic: stateTopic, device_class: 'problem' };
}

/** Every entity but the forecasts is available while the gateway is: its last will. */
function gatewayAvailability(topics: Topics): Availability {
  return { availability_topic: topics.bridgeState, payload_available: 'online', payload_not_available: 'offline' };
}

/**
 * A forecast entity is available only while the gateway is online AND forecasting the sensor: while
 * the gateway refuses (stale or faulty inputs, untrusted clock), the forecast topic carries
 * `available: false` and the reason, and HA shows the entity unavailable instead of a stale value.
 */
function forecastAvailability(topics: Topics, sensorId: string): Availability {
  return {
    availability_mode: 'all',
    availability: [
      { topic: topics.bridgeState, payload_available: 'online', payload_not_available: 'offline' },
      { topic: topics.forecast(sensorId), value_template: "{{ 'online' if value_json.available else 'offline' }}", payload_available: 'online', payload_not_available: 'offline' },
    ],
  };
}
