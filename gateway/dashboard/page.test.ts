// Tests of the page's pure browser modules (plain JavaScript in public/lib, typed by .d.ts files).
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, BACKOFF_MAX_MS } from './public/lib/backoff.js';
import { chartData } from './public/lib/series.js';
import { applyMessage, createState, MAX_READINGS } from './public/lib/state.js';
import { trend } from './public/lib/trend.js';
import { forecast, gatewayInfo, reading, T0 } from './test-helpers.ts';

const MIN = 60_000;

describe('trend', () => {
  it('reports the change over the last 10 minutes', () => {
    const rs = [reading('a', T0 - 20 * MIN, 30), reading('a', T0 - 10 * MIN, 50), reading('a', T0 - 5 * MIN, 51), reading('a', T0, 53)];
    expect(trend(rs)).toEqual({ direction: 'up', deltaRh: 3, spanMs: 10 * MIN });
    expect(trend([reading('a', T0 - 10 * MIN, 50), reading('a', T0, 47.5)])?.direction).toBe('down');
    expect(trend([reading('a', T0 - 10 * MIN, 50), reading('a', T0, 50.9)])?.direction).toBe('steady');
  });

  it('skips missing and flagged values', () => {
    const rs = [
      reading('a', T0 - 10 * MIN, 50),
      reading('a', T0 - 1 * MIN, 90, 0, { quality: ['spike'] }),
      reading('a', T0, null, 0, { quality: ['sensor_error'] }),
    ];
    expect(trend(rs)).toBeNull(); // newest usable is the first one: nothing to compare with
    rs.splice(1, 0, reading('a', T0 - 2 * MIN, 48));
    expect(trend(rs)).toEqual({ direction: 'down', deltaRh: -2, spanMs: 8 * MIN });
  });

  it('gives no trend from less than half the window of history', () => {
    expect(trend([reading('a', T0 - 4 * MIN, 40), reading('a', T0, 60)])).toBeNull();
    expect(trend([])).toBeNull();
  });
});

describe('chartData', () => {
  it('merges readings and the forecast on one ascending time axis in seconds', () => {
    const [x, rh, fc, lo, hi] = chartData([reading('a', T0 - 1000, 49), reading('a', T0, 50)], forecast('a', T0, 52));
    expect(x).toEqual([(T0 - 1000) / 1000, T0 / 1000, T0 / 1000 + 1800, T0 / 1000 + 3600]);
    expect(rh).toEqual([49, 50, null, null]);
    // The forecast line and band start at the newest reading.
    expect(fc).toEqual([null, 50, 52, 53]);
    expect(lo).toEqual([null, 50, 49, 50]);
    expect(hi).toEqual([null, 50, 55, 56]);
  });

  it('draws readings alone when there is no forecast', () => {
    const cols = chartData([reading('a', T0, null), reading('a', T0 + 1000, 51)], null);
    expect(cols[1]).toEqual([null, 51]);
    expect(cols[2]).toEqual([null, null]);
  });
});

describe('page state', () => {
  const snapshot = {
    type: 'snapshot',
    gateway: gatewayInfo,
    sensors: [{ sensorId: 'a', readings: [reading('a', T0, 50, 1)], forecast: null, noForecast: null, source: 'sim:a' }],
    links: [{ source: 'sim:a', state: 'up', detail: 'ok' }],
  };

  it('applies a snapshot, then deltas', () => {
    const state = createState();
    expect(applyMessage(state, snapshot)).toEqual({ all: true, sensors: ['a'], links: true });
    expect(applyMessage(state, { type: 'reading', reading: reading('b', T0, 60, 1) }).sensors).toEqual(['b']);
    applyMessage(state, { type: 'reading', reading: reading('a', T0 + 1000, 51, 2) });
    expect(state.sensors.get('a')?.readings.map((r) => r.seq)).toEqual([1, 2]);
    applyMessage(state, { type: 'noForecast', info: { sensorId: 'a', reason: 'stale', detail: 'x' } });
    expect(state.sensors.get('a')?.noForecast?.reason).toBe('stale');
    applyMessage(state, { type: 'forecast', forecast: forecast('a', T0) });
    expect(state.sensors.get('a')?.forecast?.baseTimeMs).toBe(T0);
    expect(state.sensors.get('a')?.noForecast).toBeNull();
    // A refusal withdraws the forecast from the chart too.
    applyMessage(state, { type: 'noForecast', info: { sensorId: 'a', reason: 'faulty_readings', detail: 'y' } });
    expect(state.sensors.get('a')).toMatchObject({ forecast: null, noForecast: { reason: 'faulty_readings' } });
    expect(applyMessage(state, { type: 'link', source: 'sim:a', state: 'down', detail: 'gone' })).toEqual({ all: false, sensors: ['a'], links: true });
    expect(state.links.get('sim:a')).toEqual({ state: 'down', detail: 'gone' });
  });

  it('replaces everything on a new snapshot (reconnect catch-up)', () => {
    const state = createState();
    applyMessage(state, { type: 'reading', reading: reading('old', T0, 60, 1) });
    applyMessage(state, snapshot);
    expect([...state.sensors.keys()]).toEqual(['a']);
  });

  it('ignores unknown and malformed messages', () => {
    const state = createState();
    applyMessage(state, snapshot);
    const before = JSON.stringify([...state.sensors]);
    for (const msg of [null, 42, 'x', { type: 'weather', rain: true }, { type: 'reading' }, { type: 'reading', reading: { sensorId: 7 } }, { type: 'forecast', forecast: { sensorId: 'a' } }, { type: 'snapshot' }]) {
      expect(applyMessage(state, msg)).toEqual({ all: false, sensors: [], links: false });
    }
    expect(JSON.stringify([...state.sensors])).toBe(before);
  });

  it('drops duplicate readings, orders late ones and keeps a bounded window', () => {
    const state = createState();
    applyMessage(state, { type: 'reading', reading: reading('a', T0, 50, 1) });
    applyMessage(state, { type: 'reading', reading: reading('a', T0, 50, 1) });
    applyMessage(state, { type: 'reading', reading: reading('a', T0 - 500, 49, 0) });
    expect(state.sensors.get('a')?.readings.map((r) => r.seq)).toEqual([0, 1]);
    applyMessage(state, { type: 'reading', reading: reading('a', T0 + 3_600_001, 50, 2) });
    expect(state.sensors.get('a')?.readings.map((r) => r.seq)).toEqual([2]);
    for (let i = 0; i < MAX_READINGS + 10; i++) applyMessage(state, { type: 'reading', reading: reading('b', T0 + i, 50, i) });
    expect(state.sensors.get('b')?.readings.length).toBe(MAX_READINGS);
    expect(state.sensors.get('b')?.readings[0]?.seq).toBe(10);
  });
});

describe('backoffDelayMs', () => {
  it('doubles from about a second up to the 30 s cap, jittered down to half', () => {
    expect(backoffDelayMs(0, () => 1)).toBe(1000);
    expect(backoffDelayMs(0, () => 0)).toBe(500);
    expect(backoffDelayMs(3, () => 1)).toBe(8000);
    expect(backoffDelayMs(50, () => 1)).toBe(BACKOFF_MAX_MS);
    expect(backoffDelayMs(50, () => 0)).toBe(BACKOFF_MAX_MS / 2);
  });
});
