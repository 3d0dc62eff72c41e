import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { startDashboard, type RunningDashboard } from '../dashboard/server.ts';
import { GatewayBus } from '../events.ts';
import { GatewayData } from '../gateway-data.ts';
import { ReadingPipeline } from '../pipeline.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Forecast } from '../types.ts';
import type { Forecaster, HistoryPoint, NoForecast } from './forecaster.ts';
import { ForecastScheduler } from './scheduler.ts';

const STEP_MS = 600_000;
const T0 = Date.UTC(2026, 0, 1, 12, 5);
const silent = pino({ level: 'silent' });

/** A flat forecast from any history. */
const flat: Forecaster = {
  info: { version: 'flat', path: 'flat.onnx', stepS: STEP_MS / 1000, windowSteps: 6, horizonsS: [600], intervalLevel: 0.8 },
  forecast: async (sensorId: string, _history: HistoryPoint[], nowMs: number): Promise<Forecast | NoForecast> => ({
    sensorId,
    issuedAtMs: nowMs,
    baseTimeMs: nowMs,
    modelVersion: 'flat',
    warmingUp: false,
    points: [{ horizonS: 600, rh: 50, lower: 49, upper: 51 }],
  }),
  close: async () => {},
};

describe('GET /api/forecast/:sensor from the scheduler', () => {
  let dashboard: RunningDashboard | null = null;
  afterEach(async () => {
    await dashboard?.close();
    dashboard = null;
  });

  it('answers 503 with the reason, not the earlier forecast, while the gateway refuses; 200 again once it forecasts', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const bus = new GatewayBus();
    const trusted = { value: true };
    const scheduler = new ForecastScheduler({ store, forecaster: flat, bus, clock, checkIntervalMs: 1000, clockTrusted: () => trusted.value, onError: (e) => { throw e; } });
    const data = new GatewayData({
      gatewayId: 'gw',
      version: '0',
      startedAtMs: T0,
      store,
      pipeline: new ReadingPipeline(store, bus, silent),
      scheduler: () => scheduler,
      model: () => flat.info,
      health: () => null,
    });
    dashboard = await startDashboard({ host: '127.0.0.1', port: 0, bus, data, logger: silent, clock });
    const get = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`http://127.0.0.1:${dashboard!.port}/api/forecast/cellar`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    store.append({ sensorId: 'cellar', bootId: 'b', seq: 1, uptimeMs: 1000, wallTimeMs: T0 - 1000, rh: 50, tempC: 10, quality: [] });
    await scheduler.cycle();
    expect(await get()).toMatchObject({ status: 200, body: { sensorId: 'cellar', issuedAtMs: T0 } });

    clock.advance(STEP_MS);
    trusted.value = false;
    await scheduler.cycle();
    const refused = await get();
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: 'no_forecast', sensor: 'cellar', reason: 'clock_untrusted', detail: expect.stringMatching(/not trusted/) });
    expect(refused.body).not.toHaveProperty('points');

    trusted.value = true;
    await scheduler.cycle();
    expect(await get()).toMatchObject({ status: 200, body: { sensorId: 'cellar', issuedAtMs: T0 + STEP_MS } });
  });
});
