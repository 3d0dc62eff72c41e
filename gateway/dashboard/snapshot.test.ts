import { describe, expect, it } from 'vitest';
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
