import { describe, expect, it } from 'vitest';
import type { SensorAlertPayload } from '../forecast/alerts.ts';
import type { SyncStatus } from '../sync/sync-types.ts';
import { MemoryDashboardData } from './memory-data.ts';
import { buildSnapshot, thin } from './snapshot.ts';
import { forecast, gatewayInfo, reading, T0 } from './test-helpers.ts';

describe('thin', () => {
  const items = Array.from({ length: 101 }, (_, i) => i);

  it('returns short lists unchanged', () => {
    expect(thin([1, 2, 3], 3)).toEqual([1, 2, 3]);
  });

  it('keeps evenly spaced items including the first and the last', () => {
    expect(thin(items, 5)).toEqual([0, 25, 50, 75, 100]);
    expect(thin(items, 2)).toEqual([0, 100]);
  });

  it('keeps only the newest when one point is allowed', () => {
    expect(thin(items, 1)).toEqual([100]);
  });

  it('rejects a bound below one', () => {
    expect(() => thin(items, 0)).toThrow(/maxPoints/);
  });
});

describe('buildSnapshot', () => {
  it('takes the window, thins it, and adds forecasts, reasons, sources and links', () => {
    const data = new MemoryDashboardData(gatewayInfo);
    data.addReading(reading('a', T0 - 3_600_001, 10, 0));
    for (let i = 1; i <= 10; i++) data.addReading(reading('a', T0 - 3_600_000 + i * 60_000, 50, i));
    data.addReading(reading('b', T0, 60, 1));
    data.setForecast(forecast('a', T0));
    data.setNoForecast({ sensorId: 'b', reason: 'stale', detail: 'last reading 2 h old' });
    data.setSensorSource('a', 'serial:/dev/ttyUSB0');
    data.setLink('serial:/dev/ttyUSB0', 'down', 'ENOENT');

    const snap = buildSnapshot(data, T0, { windowMs: 3_600_000, fetchLimit: 100, maxPoints: 4 });
    expect(snap.type).toBe('snapshot');
    expect(snap.gateway).toBe(gatewayInfo);
    const [a, b] = snap.sensors;
    expect(a?.readings.map((r) => r.seq)).toEqual([1, 4, 7, 10]);
    expect(a?.forecast?.sensorId).toBe('a');
    expect(a?.source).toBe('serial:/dev/ttyUSB0');
    expect(b?.noForecast?.reason).toBe('stale');
    expect(b?.forecast).toBeNull();
    expect(snap.links).toEqual([{ source: 'serial:/dev/ttyUSB0', state: 'down', detail: 'ENOENT' }]);
  });

  it('fetches at most fetchLimit readings, the newest', () => {
    const data = new MemoryDashboardData(gatewayInfo);
    for (let i = 1; i <= 10; i++) data.addReading(reading('a', T0 - (10 - i), 50, i));
    const snap = buildSnapshot(data, T0, { windowMs: 3_600_000, fetchLimit: 3, maxPoints: 100 });
    expect(snap.sensors[0]?.readings.map((r) => r.seq)).toEqual([8, 9, 10]);
  });
});

describe('buildSnapshot over 24 h', () => {
  const HOUR = 3_600_000;
  // fetchLimit covers the 3601 readings of [T0 - 1 h, T0]: none of them spills into the history.
  const limits = { windowMs: HOUR, fetchLimit: 4000, maxPoints: 600 };

  function dayAt1Hz(data: MemoryDashboardData, sensorId: string): void {
    // 25 h at one reading per second, a slow daily wave with a bit of noise in the decimals.
    for (let i = 25 * 3600; i >= 0; i--) {
      const t = T0 - i * 1000;
      data.addReading(reading(sensorId, t, 50 + 10 * Math.sin(t / 13_751_000) + (i % 7) / 100, 25 * 3600 - i));
    }
  }

  it('sends the last hour raw and the 23 h before as per-minute means, split without overlap', () => {
    const data = new MemoryDashboardData(gatewayInfo, 100_000);
    dayAt1Hz(data, 'a');
    const [a] = buildSnapshot(data, T0, limits).sensors;
    expect(a?.readings).toHaveLength(600);
    expect(a?.readings[0]?.wallTimeMs).toBe(T0 - HOUR);
    expect(a?.readings.at(-1)?.wallTimeMs).toBe(T0);
    const h = a!.history;
    expect(h.bucketMs).toBe(60_000);
    expect(h.tMs[0]).toBe(T0 - 24 * HOUR);
    expect(h.tMs.at(-1)).toBe(T0 - HOUR - 60_000);
    expect(h.tMs).toHaveLength(23 * 60);
    expect(h.n.every((n) => n === 60)).toBe(true);
    // The mean of a minute is the mean of its 60 readings.
    const minute = data.readings('a', T0 - 2 * HOUR, 100_000).filter((r) => r.wallTimeMs < T0 - 2 * HOUR + 60_000);
    const idx = h.tMs.indexOf(T0 - 2 * HOUR);
    expect(h.rh[idx]).toBeCloseTo(minute.reduce((s, r) => s + (r.rh ?? 0), 0) / 60, 2);
  });

  it('keeps a snapshot of four sensors with 25 h of 1 Hz readings under the 1 MiB socket bound', () => {
    const data = new MemoryDashboardData(gatewayInfo, 100_000);
    for (const id of ['a', 'b', 'c', 'd']) dayAt1Hz(data, id);
    const snap = buildSnapshot(data, T0, limits);
    expect(snap.sensors.every((s) => s.history.tMs.length === 23 * 60)).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(snap))).toBeLessThan(1024 * 1024);
  });

  it('reads at most historyFetchLimit readings, the newest', () => {
    const data = new MemoryDashboardData(gatewayInfo, 100_000);
    dayAt1Hz(data, 'a');
    const [a] = buildSnapshot(data, T0, { ...limits, historyFetchLimit: 2 * 3600 }).sensors;
    expect(a?.history.tMs[0]).toBe(T0 - 2 * HOUR);
    expect(a?.history.tMs).toHaveLength(60);
  });

  it('includes the latest alert, forecast error and sync status it is given', () => {
    const data = new MemoryDashboardData(gatewayInfo);
    data.addReading(reading('a', T0, 50));
    const alert = { sensor: 'a', state: 'on' } as SensorAlertPayload;
    const report = { sensor: 'a', window_s: 86_400, horizons: [], updated_at: 'x' };
    const sync = { backlog: 3 } as SyncStatus;
    const snap = buildSnapshot(data, T0, limits, { alert: (id) => (id === 'a' ? alert : null), forecastError: () => report, sync: () => sync });
    expect(snap.sensors[0]).toMatchObject({ alert, forecastError: report });
    expect(snap.sync).toBe(sync);
    const bare = buildSnapshot(data, T0, limits);
    expect(bare.sensors[0]).toMatchObject({ alert: null, forecastError: null });
    expect(bare.sync).toBeNull();
  });
});

describe('buildSnapshot with DashboardData.history', () => {
  it('reads only the raw window and asks history() for the means before its first reading', () => {
    const data = new MemoryDashboardData(gatewayInfo, 100_000);
    for (let i = 3 * 3600; i >= 0; i -= 10) data.addReading(reading('a', T0 - i * 1000, 50, 100_000 - i));
    const asked: { since: number; until: number; bucket: number }[] = [];
    const fetched: number[] = [];
    const canned = { bucketMs: 60_000, tMs: [T0 - 2 * 3_600_000], rh: [49], n: [6] };
    const withHistory = Object.assign(Object.create(data) as MemoryDashboardData, {
      readings: (id: string, since: number, limit: number) => {
        fetched.push(since);
        return data.readings(id, since, limit);
      },
      history: (_id: string, since: number, until: number, bucket: number) => {
        asked.push({ since, until, bucket });
        return canned;
      },
    });
    const [a] = buildSnapshot(withHistory, T0, { windowMs: 3_600_000, fetchLimit: 4000, maxPoints: 600 }).sensors;
    expect(fetched).toEqual([T0 - 3_600_000]);
    expect(a?.readings[0]?.wallTimeMs).toBe(T0 - 3_600_000);
    expect(asked).toEqual([{ since: T0 - 86_400_000, until: T0 - 3_600_000, bucket: 60_000 }]);
    expect(a?.history).toBe(canned);
  });
});
