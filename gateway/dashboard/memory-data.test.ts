import { describe, expect, it } from 'vitest';
import { GatewayBus } from '../events.ts';
import { MemoryDashboardData } from './memory-data.ts';
import { forecast, gatewayInfo, reading, T0 } from './test-helpers.ts';

describe('MemoryDashboardData', () => {
  it('returns the newest `limit` readings since a time, oldest first', () => {
    const data = new MemoryDashboardData(gatewayInfo);
    for (let i = 0; i < 10; i++) data.addReading(reading('a', T0 + i * 1000, 50, i));
    expect(data.readings('a', 0, 3).map((r) => r.seq)).toEqual([7, 8, 9]);
    expect(data.readings('a', T0 + 8000, 100).map((r) => r.seq)).toEqual([8, 9]);
    expect(data.readings('a', 0, 1)[0]?.seq).toBe(9);
    expect(data.readings('nope', 0, 10)).toEqual([]);
  });

  it('keeps at most maxReadingsPerSensor readings', () => {
    const data = new MemoryDashboardData(gatewayInfo, 4);
    for (let i = 0; i < 20; i++) data.addReading(reading('a', T0 + i, 50, i));
    expect(data.readings('a', 0, 100).map((r) => r.seq)).toEqual([16, 17, 18, 19]);
    expect(() => new MemoryDashboardData(gatewayInfo, 0)).toThrow(/maxReadingsPerSensor/);
  });

  it('follows the bus until detached', () => {
    const bus = new GatewayBus();
    const data = new MemoryDashboardData(gatewayInfo);
    const detach = data.attach(bus);
    bus.emit('reading', reading('a', T0, 50, 1));
    bus.emit('noForecast', { sensorId: 'a', reason: 'too_many_gaps', detail: '40% missing' });
    expect(data.lastNoForecast('a')?.reason).toBe('too_many_gaps');
    bus.emit('forecast', forecast('a', T0));
    expect(data.latestForecast('a')?.baseTimeMs).toBe(T0);
    expect(data.lastNoForecast('a')).toBeNull();
    bus.emit('link', 'sim:a', 'up', 'running');
    expect(data.linkStates()).toEqual({ 'sim:a': { state: 'up', detail: 'running' } });
    detach();
    bus.emit('reading', reading('b', T0, 50, 1));
    expect(data.sensorIds()).toEqual(['a']);
    expect(bus.listenerCount('reading')).toBe(0);
  });
});
