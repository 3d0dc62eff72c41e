import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Forecast, QualityFlag, Reading } from '../types.ts';
import type { Forecaster, HistoryPoint, NoForecast } from './forecaster.ts';
import { ForecastScheduler } from './scheduler.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 5);

/** Records what it was asked and answers with a flat forecast. */
class FakeForecaster implements Forecaster {
  readonly info = { version: 'fake', path: 'fake.onnx', stepS: 600, windowSteps: 6, horizonsS: [600], intervalLevel: 0.8 };
  calls: HistoryPoint[][] = [];
  warmingUp = false;
  async forecast(sensorId: string, history: HistoryPoint[], nowMs: number): Promise<Forecast | NoForecast> {
    this.calls.push(history);
    return { sensorId, issuedAtMs: nowMs, baseTimeMs: nowMs, modelVersion: 'fake', warmingUp: this.warmingUp, points: [{ horizonS: 600, rh: 50, lower: 49, upper: 51 }] };
  }
  async close(): Promise<void> {}
}

function reading(seq: number, quality: QualityFlag[] = []): Reading {
  return { sensorId: 'cellar', bootId: 'b', seq, uptimeMs: seq * 1000, wallTimeMs: T0 - 60_000 + seq * 1000, rh: 50, tempC: 10, quality };
}

function setup(trusted: { value: boolean }, calibrate?: (f: Forecast, level: number) => Forecast) {
  const clock = new ManualClock(T0);
  const store = new MemoryStore();
  const bus = new GatewayBus();
  const forecaster = new FakeForecaster();
  const refusals: NoForecast[] = [];
  const forecasts: Forecast[] = [];
  bus.on('noForecast', (n) => refusals.push(n));
  bus.on('forecast', (f) => forecasts.push(f));
  const errors: unknown[] = [];
  const scheduler = new ForecastScheduler({ store, forecaster, bus, clock, checkIntervalMs: 1000, clockTrusted: () => trusted.value, ...(calibrate ? { calibrate } : {}), onError: (e) => errors.push(e) });
  return { clock, store, forecaster, refusals, forecasts, errors, scheduler };
}

describe('ForecastScheduler', () => {
  it('says clock_untrusted instead of forecasting while the wall clock is not trusted, then forecasts', async () => {
    const trusted = { value: false };
    const s = setup(trusted);
    for (let i = 0; i < 5; i++) s.store.append(reading(i));
    await s.scheduler.cycle();
    expect(s.refusals.map((r) => r.reason)).toEqual(['clock_untrusted']);
    expect(s.forecaster.calls).toHaveLength(0);
    trusted.value = true;
    await s.scheduler.cycle();
    expect(s.forecasts).toHaveLength(1);
    expect(s.scheduler.latestNoForecast('cellar')).toBeNull();
    expect(s.errors).toEqual([]);
  });

  it("says stuck_sensor when the newest reading is flagged 'stuck', and recovers when it is not", async () => {
    const s = setup({ value: true });
    for (let i = 0; i < 4; i++) s.store.append(reading(i));
    s.store.append(reading(4, ['stuck']));
    await s.scheduler.cycle();
    expect(s.refusals).toMatchObject([{ sensorId: 'cellar', reason: 'stuck_sensor' }]);
    expect(s.refusals[0]?.detail).toMatch(/stuck/);
    expect(s.forecaster.calls).toHaveLength(0);
    s.store.append(reading(5));
    await s.scheduler.cycle();
    expect(s.forecasts).toHaveLength(1);
    // One point per step: the mean of its usable readings at the newest one's time; the stuck reading is left out.
    expect(s.forecaster.calls[0]).toEqual([{ tMs: reading(5).wallTimeMs, rh: 50 }]);
  });

  it('withdraws the kept forecast when a later step is refused, and keeps the newest once forecasting resumes', async () => {
    const trusted = { value: true };
    const s = setup(trusted);
    for (let i = 0; i < 5; i++) s.store.append(reading(i));
    await s.scheduler.cycle();
    expect(s.scheduler.latestForecast('cellar')).toMatchObject({ sensorId: 'cellar', issuedAtMs: T0 });
    // The next step: inputs refused. The forecast of the previous step must not be served any more.
    s.clock.advance(600_000);
    trusted.value = false;
    await s.scheduler.cycle();
    expect(s.scheduler.latestForecast('cellar')).toBeNull();
    expect(s.scheduler.latestNoForecast('cellar')).toMatchObject({ sensorId: 'cellar', reason: 'clock_untrusted' });
    expect(s.refusals.map((r) => r.reason)).toEqual(['clock_untrusted']);
    trusted.value = true;
    await s.scheduler.cycle();
    expect(s.scheduler.latestForecast('cellar')).toMatchObject({ issuedAtMs: T0 + 600_000 });
    expect(s.scheduler.latestNoForecast('cellar')).toBeNull();
    expect(s.forecasts).toHaveLength(2);
  });

  it('publishes and keeps the calibrated forecast, handing the model its interval level', async () => {
    const levels: number[] = [];
    const widen = (f: Forecast, level: number): Forecast => {
      levels.push(level);
      return { ...f, points: f.points.map((p) => ({ ...p, lower: p.lower - 1, upper: p.upper + 1 })) };
    };
    const s = setup({ value: true }, widen);
    for (let i = 0; i < 5; i++) s.store.append(reading(i));
    await s.scheduler.cycle();
    expect(levels).toEqual([0.8]);
    expect(s.forecasts[0]?.points).toEqual([{ horizonS: 600, rh: 50, lower: 48, upper: 52 }]);
    expect(s.scheduler.latestForecast('cellar')?.points).toEqual([{ horizonS: 600, rh: 50, lower: 48, upper: 52 }]);
  });

  it("lets the calibration widen a warming-up forecast's band but never narrow it below the forecaster's floor", async () => {
    const narrow = (f: Forecast): Forecast => ({ ...f, points: f.points.map((p) => ({ ...p, lower: p.lower + 0.7, upper: p.upper - 0.2 })) });
    const s = setup({ value: true }, narrow);
    for (let i = 0; i < 5; i++) s.store.append(reading(i));
    s.forecaster.warmingUp = true;
    await s.scheduler.cycle();
    // Band 49..51 from the forecaster (its floor); the calibration asked for 49.7..50.8.
    expect(s.forecasts[0]?.points).toEqual([{ horizonS: 600, rh: 50, lower: 49, upper: 51 }]);
    s.forecaster.warmingUp = false;
    s.clock.advance(600_000);
    s.store.append({ ...reading(5), wallTimeMs: s.clock.now() - 1000 });
    await s.scheduler.cycle();
    // A full window's band is the calibration's to narrow.
    expect(s.forecasts[1]?.points).toEqual([{ horizonS: 600, rh: 50, lower: 49.7, upper: 50.8 }]);
  });

  it("calibrates at the forecast's own interval level when the model was swapped while it ran", async () => {
    const levels: number[] = [];
    const s = setup({ value: true }, (f, level) => (levels.push(level), f));
    // The holder already points at a 0.9 model; the forecast came from the 0.8 one it replaced.
    const made = s.forecaster.forecast.bind(s.forecaster);
    s.forecaster.forecast = async (id, history, now) => ({ ...(await made(id, history, now)), intervalLevel: 0.8 });
    Object.assign(s.forecaster.info, { intervalLevel: 0.9 });
    for (let i = 0; i < 5; i++) s.store.append(reading(i));
    await s.scheduler.cycle();
    expect(levels).toEqual([0.8]);
  });
});
