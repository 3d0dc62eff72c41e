// Alerts, forecast errors and sync status on the dashboard's WebSocket: deltas, and remembered
// for the snapshot of a client that connects later.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import type { SensorAlertPayload } from '../forecast/alerts.ts';
import type { ForecastErrorReport } from '../forecast/forecast-log.ts';
import type { SyncStatus } from '../sync/sync-types.ts';
import { LatestEvents } from './latest.ts';
import { MemoryDashboardData } from './memory-data.ts';
import type { ServerMessage } from './messages.ts';
import { startDashboard, type RunningDashboard } from './server.ts';
import { gatewayInfo, reading, T0 } from './test-helpers.ts';

const alert = (sensor: string, state: 'on' | 'off'): SensorAlertPayload => ({
  sensor, id: 'above-70', active: state === 'on' ? ['above-70'] : [], state, threshold: 70, direction: 'above', expected_at: null, horizon_s: 3600, probability_min: 0.1,
  hysteresis_rh: 2, model_version: 'm', forecast_base: 'b', since: 's',
});
const report = (sensor: string, mae: number): ForecastErrorReport => ({ sensor, window_s: 86_400, horizons: [{ horizon_s: 3600, mae, n: 1 }], updated_at: 'u' });
const sync = (backlog: number): SyncStatus => ({ state: 'idle', backlog, oldestUnsyncedAgeMs: null, lastSuccessMs: T0, consecutiveFailures: 0, lastErrorCode: null, syncedTotal: 1, refusedTotal: 0 });

/** Opens a client and collects its messages; `next(n)` waits until n messages arrived. */
function collect(port: number): { ws: WebSocket; got: ServerMessage[]; next: (n: number) => Promise<void> } {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const got: ServerMessage[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (d) => {
    got.push(JSON.parse(String(d)) as ServerMessage);
    wake?.();
  });
  const next = async (n: number): Promise<void> => {
    while (got.length < n) await new Promise<void>((r) => (wake = r));
  };
  return { ws, got, next };
}

describe('LatestEvents', () => {
  it('remembers the latest per sensor, bounded, and forgets nothing it still may show', () => {
    const bus = new GatewayBus();
    const latest = new LatestEvents(2);
    const detach = latest.attach(bus);
    bus.emit('alert', alert('a', 'on'), []);
    bus.emit('alert', alert('b', 'on'), []);
    bus.emit('alert', alert('a', 'off'), []); // a is now the newest
    bus.emit('alert', alert('c', 'on'), []); // evicts b, the oldest
    expect(latest.alert('a')?.state).toBe('off');
    expect(latest.alert('b')).toBeNull();
    expect(latest.alert('c')?.state).toBe('on');
    bus.emit('forecastError', report('a', 0.5));
    bus.emit('sync', sync(7));
    expect(latest.forecastError('a')?.horizons[0]?.mae).toBe(0.5);
    expect(latest.sync()?.backlog).toBe(7);
    detach();
    bus.emit('sync', sync(8));
    expect(latest.sync()?.backlog).toBe(7);
    expect(() => new LatestEvents(0)).toThrow(/maxSensors/);
  });
});

describe('dashboard WebSocket with operator events', () => {
  let dashboard: RunningDashboard | null = null;
  const sockets: WebSocket[] = [];

  afterEach(async () => {
    for (const ws of sockets) ws.terminate();
    await dashboard?.close();
    dashboard = null;
  });

  it('sends alert, forecastError and sync deltas, and puts the latest into later snapshots', async () => {
    const bus = new GatewayBus();
    const data = new MemoryDashboardData(gatewayInfo);
    data.attach(bus);
    bus.emit('reading', reading('a', T0, 50));
    dashboard = await startDashboard({ host: '127.0.0.1', port: 0, bus, data, logger: pino({ level: 'silent' }), clock: new ManualClock(T0) });

    const first = collect(dashboard.port);
    sockets.push(first.ws);
    await first.next(1);
    expect(first.got[0]).toMatchObject({ type: 'snapshot', sync: null, sensors: [{ sensorId: 'a', alert: null, forecastError: null }] });

    bus.emit('alert', alert('a', 'on'), []);
    bus.emit('forecastError', report('a', 1.25));
    bus.emit('sync', sync(42));
    await first.next(4);
    expect(first.got.slice(1)).toEqual([
      { type: 'alert', alert: alert('a', 'on') },
      { type: 'forecastError', report: report('a', 1.25) },
      { type: 'sync', status: sync(42) },
    ]);

    const second = collect(dashboard.port);
    sockets.push(second.ws);
    await second.next(1);
    expect(second.got[0]).toMatchObject({ type: 'snapshot', sync: sync(42), sensors: [{ sensorId: 'a', alert: alert('a', 'on'), forecastError: report('a', 1.25) }] });
  });

  it('sends a keepalive message every heartbeat interval, so a page whose sensors are quiet does not take the silence for a dead gateway', async () => {
    const bus = new GatewayBus();
    const data = new MemoryDashboardData(gatewayInfo);
    data.attach(bus);
    const clock = new ManualClock(T0);
    dashboard = await startDashboard({ host: '127.0.0.1', port: 0, bus, data, logger: pino({ level: 'silent' }), clock, heartbeatIntervalMs: 30_000 });
    const page = collect(dashboard.port);
    sockets.push(page.ws);
    await page.next(1);
    clock.advance(30_000);
    await page.next(2);
    // The page's pong to that tick's ping must reach the gateway before the next tick, as it does on any LAN.
    await new Promise((resolve) => setTimeout(resolve, 100));
    clock.advance(30_000);
    await page.next(3);
    expect(page.got.slice(1)).toEqual([{ type: 'keepalive' }, { type: 'keepalive' }]);
  });
});
