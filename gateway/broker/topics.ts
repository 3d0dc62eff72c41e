import type { Forecast, LinkState, Reading } from '../types.ts';
import { BrokerError } from './errors.ts';

/**
 * The topic layout and payload encodings (docs/mqtt.md), as pure functions. Everything is
 * published retained, so a subscriber that connects later gets the latest value at once.
 */

export const DEFAULT_TOPIC_PREFIX = 'hygrocast';
/** Topic levels directly under the prefix that belong to the gateway, never to a sensor. */
export const RESERVED_SENSOR_IDS: readonly string[] = ['bridge', 'ingest'];
export const UNITS = { humidity: '%RH', temperature: '°C' } as const;

const PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
const SENSOR_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** An alert id is one topic level: config `forecast.alerts[].id` or `above-70` (the config and gateway/forecast/alerts.ts check ids against this). */
export const ALERT_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** Most alert rules the config accepts (`forecast.alerts`); each rule is one alert per direction, so a sensor has at most twice as many alerts. */
export const MAX_ALERT_RULES = 32;

export interface MqttMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new BrokerError('INVALID_TOPIC_PREFIX', `topic prefix ${JSON.stringify(prefix)} must be topic levels of A-Z, a-z, 0-9, _ and - (no wildcards, no leading or trailing /)`);
  }
  return prefix;
}

export function checkSensorId(sensorId: string): string {
  if (typeof sensorId !== 'string' || !SENSOR_ID.test(sensorId)) {
    throw new BrokerError('INVALID_SENSOR_ID', `sensor id ${JSON.stringify(sensorId)} must be 1-32 characters of A-Z, a-z, 0-9, _ and -`);
  }
  if (RESERVED_SENSOR_IDS.includes(sensorId)) {
    throw new BrokerError('RESERVED_SENSOR_ID', `sensor id "${sensorId}" is reserved (it is the gateway's own topic <prefix>/${sensorId}); rename the sensor`);
  }
  return sensorId;
}

export function isAlertId(alertId: string): boolean {
  return typeof alertId === 'string' && ALERT_ID.test(alertId);
}

export function checkAlertId(alertId: string): string {
  if (!isAlertId(alertId)) {
    throw new BrokerError('BROKER_INVALID_OPTION', `alert id ${JSON.stringify(alertId)} must be 1-32 characters of A-Z, a-z, 0-9, _ and -`);
  }
  return alertId;
}

/** Topic names under one prefix; sensor topics validate the sensor id. */
export function topicsFor(prefix: string) {
  const p = checkPrefix(prefix);
  const sensor = (id: string): string => `${p}/${checkSensorId(id)}`;
  return {
    bridgeState: `${p}/bridge/state`,
    state: sensor,
    humidity: (id: string) => `${sensor(id)}/humidity`,
    temperature: (id: string) => `${sensor(id)}/temperature`,
    forecast: (id: string) => `${sensor(id)}/forecast`,
    link: (id: string) => `${sensor(id)}/link`,
    /** The rolling forecast error per horizon (gateway/forecast/forecast-log.ts ForecastErrorReport). */
    forecastError: (id: string) => `${sensor(id)}/forecast_error`,
    /** All alerts of the sensor combined (on while any is on). */
    alert: (id: string) => `${sensor(id)}/alert`,
    /** One alert of the sensor (one rule, one direction). */
    alertOf: (id: string, alertId: string) => `${sensor(id)}/alert/${checkAlertId(alertId)}`,
    /** Filter of command requests; the command is the last level. */
    requestFilter: `${p}/bridge/request/+`,
    request: (command: string) => `${p}/bridge/request/${command}`,
    response: (command: string) => `${p}/bridge/response/${command}`,
    /** Filter of sensor ingest; the sensor id is the last level. */
    ingestFilter: `${p}/ingest/+`,
    ingest: (id: string) => `${p}/ingest/${id}`,
    /** Where a rejected ingest payload is answered (not retained); the id is echoed unvalidated-but-topic-safe. */
    ingestError: (id: string) => `${p}/ingest/${id}/error`,
  };
}

export type Topics = ReturnType<typeof topicsFor>;

/** Rounds to 2 decimals: finer than any humidity sensor resolves, short on the wire. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The retained JSON state of a sensor. Missing values (sensor error) are null. */
export function encodeState(r: Reading): string {
  return JSON.stringify({
    humidity: r.rh === null ? null : round2(r.rh),
    temperature: r.tempC === null ? null : round2(r.tempC),
    quality: r.quality,
    seq: r.seq,
    boot_id: r.bootId,
    time: iso(r.wallTimeMs),
    units: UNITS,
  });
}

export function encodeForecast(f: Forecast): string {
  return JSON.stringify({
    available: true,
    model_version: f.modelVersion,
    interval_level: f.intervalLevel ?? null,
    issued: iso(f.issuedAtMs),
    base_time: iso(f.baseTimeMs),
    warming_up: f.warmingUp,
    points: f.points.map((p) => ({ horizon_s: p.horizonS, humidity: round2(p.rh), lower: round2(p.lower), upper: round2(p.upper) })),
    units: { humidity: UNITS.humidity, horizon: 's' },
  });
}

/** Why the gateway makes no forecast for a sensor (the forecaster's NoForecast, structurally: the broker does not import the forecaster). */
export interface ForecastRefusal {
  sensorId: string;
  /** A stable code: stale, faulty_readings, too_many_gaps, stuck_sensor, clock_untrusted... (docs/forecast.md). */
  reason: string;
  detail: string;
}

/**
 * What replaces the retained forecast while the gateway refuses to forecast: the forecast's fields
 * with no points and nulls, `available: false`, and why. A subscriber (or one connecting later)
 * never acts on a forecast the gateway has withdrawn; the next forecast replaces it.
 */
export function encodeNoForecast(r: ForecastRefusal, sinceMs: number): string {
  return JSON.stringify({
    available: false,
    reason: r.reason,
    detail: r.detail,
    since: iso(sinceMs),
    model_version: null,
    interval_level: null,
    issued: null,
    base_time: null,
    warming_up: null,
    points: [],
    units: { humidity: UNITS.humidity, horizon: 's' },
  });
}

export function encodeLink(source: string, state: LinkState, detail: string, timeMs: number): string {
  return JSON.stringify({ state, source, detail, time: iso(timeMs) });
}

/**
 * A reading's messages: the JSON state, then the plain-number topics. A value the sensor did not
 * deliver (null) is not published on its plain topic, so simple subscribers keep the last good
 * number; the state topic carries the null and the quality flags.
 */
export function readingMessages(topics: Topics, r: Reading): MqttMessage[] {
  const messages: MqttMessage[] = [{ topic: topics.state(r.sensorId), payload: encodeState(r), retain: true }];
  if (r.rh !== null) messages.push({ topic: topics.humidity(r.sensorId), payload: String(round2(r.rh)), retain: true });
  if (r.tempC !== null) messages.push({ topic: topics.temperature(r.sensorId), payload: String(round2(r.tempC)), retain: true });
  return messages;
}

export function forecastMessage(topics: Topics, f: Forecast): MqttMessage {
  return { topic: topics.forecast(f.sensorId), payload: encodeForecast(f), retain: true };
}

export function noForecastMessage(topics: Topics, r: ForecastRefusal, sinceMs: number): MqttMessage {
  return { topic: topics.forecast(r.sensorId), payload: encodeNoForecast(r, sinceMs), retain: true };
}

/**
 * The rolling forecast error of a sensor, published as it is (gateway/forecast/forecast-log.ts
 * ForecastErrorReport: window_s, horizons, updated_at; docs/mqtt.md).
 */
export interface ForecastErrorPayload {
  sensor: string;
}

/** The sensor's rolling forecast error, retained on `<prefix>/<sensor>/forecast_error`. */
export function forecastErrorMessage(topics: Topics, report: ForecastErrorPayload): MqttMessage {
  return { topic: topics.forecastError(report.sensor), payload: JSON.stringify(report), retain: true };
}

/**
 * An alert (payload agreed with the forecaster, gateway/forecast/alerts.ts): `state` on/off plus
 * the alert's id, threshold, direction, expected_at... The combined payload adds `active`.
 */
export interface AlertPayload {
  state: 'on' | 'off';
  id?: string;
  threshold?: number;
  direction?: 'above' | 'below';
  /** ISO 8601 time the forecast crosses the threshold. */
  expected_at?: string | null;
  /** Combined payload only: ids of the alerts that are on. */
  active?: readonly string[];
  // Other fields of the forecaster's payload are passed through as they are.
}

/** The combined alert of a sensor, on `<prefix>/<sensorId>/alert`. */
export function alertMessage(topics: Topics, sensorId: string, alert: AlertPayload): MqttMessage {
  return { topic: topics.alert(sensorId), payload: encodeAlert(alert), retain: true };
}

/** One alert of a sensor, on `<prefix>/<sensorId>/alert/<alert.id>`. */
export function alertOfMessage(topics: Topics, sensorId: string, alert: AlertPayload): MqttMessage {
  if (alert.id === undefined) throw new BrokerError('BROKER_INVALID_OPTION', `an alert published on its own topic needs an id (sensor ${sensorId})`);
  return { topic: topics.alertOf(sensorId, alert.id), payload: encodeAlert(alert), retain: true };
}

function encodeAlert(alert: AlertPayload): string {
  if (alert.state !== 'on' && alert.state !== 'off') {
    throw new BrokerError('BROKER_INVALID_OPTION', `alert state must be "on" or "off" (got ${JSON.stringify(alert.state)})`);
  }
  return JSON.stringify(alert);
}

export function availabilityMessage(topics: Topics, online: boolean): MqttMessage {
  return { topic: topics.bridgeState, payload: online ? 'online' : 'offline', retain: true };
}
