import { describe, expect, it } from 'vitest';
import type { Forecast, Reading } from '../types.ts';
import {
  alertMessage,
  alertOfMessage,
  availabilityMessage,
  checkPrefix,
  encodeForecast,
  encodeLink,
  encodeState,
  forecastMessage,
  noForecastMessage,
  readingMessages,
  topicsFor,
} from './topics.ts';

const reading: Reading = {
  sensorId: 'kitchen',
  bootId: 'b7f3',
  seq: 17,
  uptimeMs: 12_345,
  wallTimeMs: Date.UTC(2026, 0, 2, 3, 4, 5, 600),
  rh: 45.1234,
  tempC: 21.299999,
  quality: [],
};

describe('topics', () => {
  const t = topicsFor('hygrocast');

  it('lays out topics under the prefix', () => {
    expect(t.bridgeState).toBe('hygrocast/bridge/state');
    expect(t.state('kitchen')).toBe('hygrocast/kitchen');
    expect(t.humidity('kitchen')).toBe('hygrocast/kitchen/humidity');
    expect(t.temperature('kitchen')).toBe('hygrocast/kitchen/temperature');
    expect(t.forecast('kitchen')).toBe('hygrocast/kitchen/forecast');
    expect(t.link('kitchen')).toBe('hygrocast/kitchen/link');
    expect(topicsFor('home/hygro').state('a')).toBe('home/hygro/a');
    expect(t.alert('kitchen')).toBe('hygrocast/kitchen/alert');
    expect(t.alertOf('kitchen', 'above-70')).toBe('hygrocast/kitchen/alert/above-70');
  });

  it('rejects reserved and malformed sensor ids, and wildcard prefixes', () => {
    expect(() => t.state('bridge')).toThrow(expect.objectContaining({ code: 'RESERVED_SENSOR_ID', message: expect.stringContaining('"bridge" is reserved') }));
    expect(() => t.humidity('ingest')).toThrow(expect.objectContaining({ code: 'RESERVED_SENSOR_ID' }));
    expect(() => t.state('a/b')).toThrow(expect.objectContaining({ code: 'INVALID_SENSOR_ID' }));
    expect(() => t.state('+')).toThrow(expect.objectContaining({ code: 'INVALID_SENSOR_ID' }));
    expect(() => checkPrefix('hygro/#')).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC_PREFIX' }));
    expect(() => checkPrefix('/hygro')).toThrow(/prefix/);
  });
});

describe('payloads', () => {
  it('encodes the state with rounded values, ISO time and units', () => {
    expect(JSON.parse(encodeState(reading))).toEqual({
      humidity: 45.12,
      temperature: 21.3,
      quality: [],
      seq: 17,
      boot_id: 'b7f3',
      time: '2026-01-02T03:04:05.600Z',
      units: { humidity: '%RH', temperature: '°C' },
    });
  });

  it('encodes missing values as null and keeps the quality flags', () => {
    const bad = { ...reading, rh: null, tempC: null, quality: ['sensor_error' as const] };
    expect(JSON.parse(encodeState(bad))).toMatchObject({ humidity: null, temperature: null, quality: ['sensor_error'] });
  });

  it('publishes retained state and plain numbers, skipping missing values', () => {
    const t = topicsFor('hygrocast');
    expect(readingMessages(t, reading)).toEqual([
      { topic: 'hygrocast/kitchen', payload: encodeState(reading), retain: true },
      { topic: 'hygrocast/kitchen/humidity', payload: '45.12', retain: true },
      { topic: 'hygrocast/kitchen/temperature', payload: '21.3', retain: true },
    ]);
    expect(readingMessages(t, { ...reading, tempC: null }).map((m) => m.topic)).toEqual(['hygrocast/kitchen', 'hygrocast/kitchen/humidity']);
    expect(readingMessages(t, { ...reading, rh: null }).map((m) => m.topic)).toEqual(['hygrocast/kitchen', 'hygrocast/kitchen/temperature']);
  });

  it('encodes a forecast', () => {
    const f: Forecast = {
      sensorId: 'kitchen',
      issuedAtMs: Date.UTC(2026, 0, 1, 12),
      baseTimeMs: Date.UTC(2026, 0, 1, 11, 50),
      modelVersion: 'ridge-2026.01',
      intervalLevel: 0.8,
      points: [
        { horizonS: 3600, rh: 51.234, lower: 49.001, upper: 53.5 },
        { horizonS: 21_600, rh: 55, lower: 48.75, upper: 61.255 },
      ],
      warmingUp: true,
    };
    expect(JSON.parse(encodeForecast(f))).toEqual({
      available: true,
      model_version: 'ridge-2026.01',
      interval_level: 0.8,
      issued: '2026-01-01T12:00:00.000Z',
      base_time: '2026-01-01T11:50:00.000Z',
      warming_up: true,
      points: [
        { horizon_s: 3600, humidity: 51.23, lower: 49, upper: 53.5 },
        { horizon_s: 21_600, humidity: 55, lower: 48.75, upper: 61.26 },
      ],
      units: { humidity: '%RH', horizon: 's' },
    });
    expect(forecastMessage(topicsFor('p'), f)).toMatchObject({ topic: 'p/kitchen/forecast', retain: true });
  });

  it('puts the combined alert on the sensor topic and each alert on its own, refusing bad states and ids', () => {
    const t = topicsFor('hygrocast');
    const on = { state: 'on', id: 'above-70', threshold: 70, direction: 'above', expected_at: null } as const;
    expect(alertMessage(t, 'kitchen', { ...on, active: ['above-70'] })).toEqual({ topic: 'hygrocast/kitchen/alert', payload: JSON.stringify({ ...on, active: ['above-70'] }), retain: true });
    expect(alertOfMessage(t, 'kitchen', on)).toEqual({ topic: 'hygrocast/kitchen/alert/above-70', payload: JSON.stringify(on), retain: true });
    expect(() => alertOfMessage(t, 'kitchen', { ...on, id: 'a/#' })).toThrow(expect.objectContaining({ code: 'BROKER_INVALID_OPTION', message: expect.stringContaining('alert id "a/#"') }));
    expect(() => alertOfMessage(t, 'kitchen', { state: 'on' })).toThrow(/needs an id/);
    expect(() => alertMessage(t, 'kitchen', { ...on, state: 'maybe' as 'on' })).toThrow(/alert state must be "on" or "off"/);
  });

  it('replaces the retained forecast with available false and the reason when the gateway refuses', () => {
    const refusal = { sensorId: 'kitchen', reason: 'faulty_readings', detail: 'every reading is flagged' };
    const m = noForecastMessage(topicsFor('p'), refusal, Date.UTC(2026, 0, 1, 12));
    expect(m).toMatchObject({ topic: 'p/kitchen/forecast', retain: true });
    const payload = JSON.parse(m.payload) as Record<string, unknown>;
    expect(payload).toEqual({
      available: false,
      reason: 'faulty_readings',
      detail: 'every reading is flagged',
      since: '2026-01-01T12:00:00.000Z',
      model_version: null,
      interval_level: null,
      issued: null,
      base_time: null,
      warming_up: null,
      points: [],
      units: { humidity: '%RH', horizon: 's' },
    });
    // The same keys as a forecast, so templates and flows reading the topic never hit a missing field.
    const forecastKeys = Object.keys(JSON.parse(encodeForecast({ sensorId: 'kitchen', issuedAtMs: 0, baseTimeMs: 0, modelVersion: 'm', points: [], warmingUp: false })) as object);
    expect(forecastKeys.every((k) => k in payload)).toBe(true);
  });

  it('encodes link state and availability', () => {
    expect(JSON.parse(encodeLink('serial:/dev/ttyUSB0', 'down', 'ENOENT', Date.UTC(2026, 0, 1)))).toEqual({
      state: 'down',
      source: 'serial:/dev/ttyUSB0',
      detail: 'ENOENT',
      time: '2026-01-01T00:00:00.000Z',
    });
    const t = topicsFor('hygrocast');
    expect(availabilityMessage(t, true)).toEqual({ topic: 'hygrocast/bridge/state', payload: 'online', retain: true });
    expect(availabilityMessage(t, false).payload).toBe('offline');
  });
});
