// The 24 h per-minute history (public/lib/history.js) on the server and in the page state.
import { describe, expect, it } from 'vitest';
import type { SensorAlertPayload } from '../forecast/alerts.ts';
import type { ForecastErrorReport } from '../forecast/forecast-log.ts';
import { bucketMeans, emptyHistory, foldReadings, isHistory, trimHistory } from './public/lib/history.js';
import { chartData } from './public/lib/series.js';
import { applyMessage, createState, KEEP_WINDOW_MS } from './public/lib/state.js';
import { gatewayInfo, reading, T0 } from './test-helpers.ts';

const MIN = 60_000;

describe('bucketMeans', () => {
  it('averages the usable readings of each minute and counts them', () => {
    const rs = [
      reading('a', T0 + 1000, 40),
      reading('a', T0 + 30_000, 42),
      reading('a', T0 + 40_000, 99, 0, { quality: ['spike'] }),
      reading('a', T0 + MIN + 5, null),
      reading('a', T0 + 2 * MIN, 50.555),
    ];
    expect(bucketMeans(rs)).toEqual({ bucketMs: MIN, tMs: [T0, T0 + 2 * MIN], rh: [41, 50.56], n: [2, 1] });
  });

  it('merges later readings of the last minute exactly, and ignores readings older than it', () => {
    const h = bucketMeans([reading('a', T0, 40), reading('a', T0 + 1000, 42)]);
    foldReadings(h, [reading('a', T0 - MIN, 10), reading('a', T0 + 2000, 47), reading('a', T0 + MIN, 60)]);
    expect(h).toEqual({ bucketMs: MIN, tMs: [T0, T0 + MIN], rh: [43, 60], n: [3, 1] });
  });

  it('trims buckets before a time and recognises histories', () => {
    const h = bucketMeans([reading('a', T0, 40), reading('a', T0 + MIN, 41), reading('a', T0 + 2 * MIN, 42)]);
    expect(trimHistory(h, T0 + MIN).tMs).toEqual([T0 + MIN, T0 + 2 * MIN]);
    expect(isHistory(h)).toBe(true);
    expect(isHistory(emptyHistory())).toBe(true);
    expect(isHistory({ bucketMs: MIN, tMs: [1], rh: [], n: [] })).toBe(false);
    expect(isHistory(null)).toBe(false);
  });
});

describe('page state with history', () => {
  it('folds readings that leave the one-hour raw window into the history, and keeps 24 h of it', () => {
    const state = createState();
    applyMessage(state, { type: 'snapshot', gateway: gatewayInfo, links: [], sync: null, sensors: [{ sensorId: 'a', readings: [], history: emptyHistory(), forecast: null, noForecast: null, source: null, alert: null, forecastError: null }] });
    // 26 h at one reading per minute, RH = minute index.
    for (let i = 0; i < 26 * 60; i++) applyMessage(state, { type: 'reading', reading: reading('a', T0 + i * MIN, i % 100, i) });
    const s = state.sensors.get('a')!;
    const newest = T0 + (26 * 60 - 1) * MIN;
    expect(s.readings[0]!.wallTimeMs).toBeGreaterThanOrEqual(newest - KEEP_WINDOW_MS);
    expect(s.history.tMs.length).toBeGreaterThan(22 * 60);
    expect(s.history.tMs.length).toBeLessThanOrEqual(24 * 60 + 1);
    expect(s.history.tMs[0]).toBeGreaterThanOrEqual(newest - 24 * 3_600_000 - MIN);
    // Every minute that left the raw window is in the history with its own value.
    const last = s.history.tMs.length - 1;
    expect(s.history.tMs[last]).toBe(s.readings[0]!.wallTimeMs - MIN);
    expect(s.history.rh[last]).toBe(((s.history.tMs[last]! - T0) / MIN) % 100);
  });

  it('takes the history, alert and forecast error from a snapshot and follows their deltas', () => {
    const state = createState();
    const alert = { sensor: 'a', state: 'on', threshold: 70, direction: 'above', expected_at: null } as SensorAlertPayload;
    const report: ForecastErrorReport = { sensor: 'a', window_s: 86_400, horizons: [{ horizon_s: 3600, mae: 0.5, n: 3 }], updated_at: 'x' };
    const history = bucketMeans([reading('a', T0 - 3 * 3_600_000, 40)]);
    applyMessage(state, { type: 'snapshot', gateway: gatewayInfo, links: [], sync: { backlog: 5 }, sensors: [{ sensorId: 'a', readings: [reading('a', T0, 50)], history, forecast: null, noForecast: null, source: null, alert, forecastError: null }] });
    const s = state.sensors.get('a')!;
    expect(s.history.tMs).toEqual(history.tMs);
    expect(s.alert).toEqual(alert);
    expect(state.sync).toEqual({ backlog: 5 });
    expect(applyMessage(state, { type: 'forecastError', report })).toEqual({ all: false, sensors: ['a'], links: false });
    expect(s.forecastError).toEqual(report);
    applyMessage(state, { type: 'alert', alert: { ...alert, state: 'off' } });
    expect(s.alert?.state).toBe('off');
    expect(applyMessage(state, { type: 'sync', status: { backlog: 0 } }).links).toBe(true);
    expect(state.sync).toEqual({ backlog: 0 });
    // Malformed deltas change nothing.
    expect(applyMessage(state, { type: 'alert', alert: 'x' }).sensors).toEqual([]);
    expect(applyMessage(state, { type: 'forecastError', report: { sensor: 'a' } }).sensors).toEqual([]);
  });
});

describe('chartData with history', () => {
  it('draws minute means at mid-minute before the first raw reading, never among them', () => {
    const history = { bucketMs: MIN, tMs: [T0 - 3 * MIN, T0 - 2 * MIN, T0 - MIN], rh: [40, 41, 42] };
    const [x, rh] = chartData([reading('a', T0 - 60_000 + 10_000, 50), reading('a', T0, 51)], null, history);
    expect(x).toEqual([(T0 - 2.5 * MIN) / 1000, (T0 - 1.5 * MIN) / 1000, (T0 - MIN + 10_000) / 1000, T0 / 1000]);
    expect(rh).toEqual([40, 41, 50, 51]);
  });
});
