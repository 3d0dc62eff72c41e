import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleWindow } from '../../models/resample.ts';
import { buildRidgeModel } from '../../models/ridge-onnx.ts';
import { persistenceWeights, tempDir, testContract } from '../../models/test-fixtures.ts';
import type { TempDir } from '../../models/test-fixtures.ts';
import { naiveSecondsOfDay } from '../../models/time-features.ts';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { ReadingStore } from '../store/store.ts';
import type { Forecast, Reading } from '../types.ts';
import type { Forecaster, HistoryPoint, NoForecast } from './forecaster.ts';
import { OnnxForecaster } from './onnx-forecaster.ts';
import { ForecastScheduler, UNUSABLE_FLAGS } from './scheduler.ts';

const STEP_MS = 600_000;
/** A 24 h window: 144 steps of 10 min, as the shipped model. */
const WINDOW_STEPS = 144;
/** 3 min 20 s into a step. */
const NOW = Date.UTC(2026, 0, 3, 12, 3, 20);

let tmp: TempDir;
let model: string;
beforeAll(async () => {
  tmp = await tempDir();
  model = await tmp.write('persist-24h.onnx', buildRidgeModel(persistenceWeights(WINDOW_STEPS, 3), testContract({ windowSteps: WINDOW_STEPS })));
});
afterAll(async () => {
  await tmp.remove();
});

/** One reading per second over [fromMs, toMs); every 97th is a flagged spike the model must not see. */
function oneHz(fromMs: number, toMs: number): Reading[] {
  const out: Reading[] = [];
  for (let t = fromMs, seq = 0; t < toMs; t += 1000, seq++) {
    const spike = seq % 97 === 0;
    const rh = spike ? 99 : 45 + 10 * Math.sin(t / 7_200_000) + (seq % 13) / 10;
    out.push({ sensorId: 'attic', bootId: 'b', seq, uptimeMs: seq * 1000, wallTimeMs: t, rh, tempC: 20, quality: spike ? ['spike'] : [] });
  }
  return out;
}

/** Delegates to the real forecaster and keeps the history it was given. */
class Spy implements Forecaster {
  history: HistoryPoint[] = [];
  constructor(private readonly inner: Forecaster) {}
  get info() {
    return this.inner.info;
  }
  forecast(sensorId: string, history: HistoryPoint[], nowMs: number): Promise<Forecast | NoForecast> {
    this.history = history;
    return this.inner.forecast(sensorId, history, nowMs);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const stores: [string, () => { store: ReadingStore; cleanup: () => void }][] = [
  ['MemoryStore', () => ({ store: new MemoryStore(), cleanup: () => {} })],
  [
    'SqliteStore',
    () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-window-'));
      return { store: new SqliteStore({ dataDir }), cleanup: () => fs.rmSync(dataDir, { recursive: true, force: true }) };
    },
  ],
];

describe('ForecastScheduler at 1 reading/s (default simulator)', () => {
  for (const [name, make] of stores) {
    it(`${name}: a 24 h model gets its whole window from 25 h of readings and is not warming up`, async () => {
      const { store, cleanup } = make();
      const forecaster = new Spy(await OnnxForecaster.load(model, { secondsOfDay: naiveSecondsOfDay }));
      try {
        const readings = oneHz(NOW - 25 * 3_600_000, NOW);
        for (const r of readings) store.append(r);
        const errors: unknown[] = [];
        const scheduler = new ForecastScheduler({ store, forecaster, bus: new GatewayBus(), clock: new ManualClock(NOW), checkIntervalMs: 1000, onError: (e) => errors.push(e) });
        await scheduler.cycle();
        expect(errors).toEqual([]);
        expect(scheduler.latestNoForecast('attic')).toBeNull();
        const made = scheduler.latestForecast('attic');
        expect(made).toMatchObject({ warmingUp: false, baseTimeMs: Math.floor(NOW / STEP_MS) * STEP_MS });
        // The model saw exactly the window the resampler makes from every raw reading.
        const req = { stepS: STEP_MS / 1000, windowSteps: WINDOW_STEPS, maxFillSteps: 3, lastStepStartMs: Math.floor(NOW / STEP_MS) * STEP_MS - STEP_MS };
        const raw = assembleWindow(
          readings.map((r) => ({ tMs: r.wallTimeMs, rh: r.rh ?? Number.NaN, faulty: r.quality.some((f) => UNUSABLE_FLAGS.includes(f)) })),
          req,
        );
        const seen = assembleWindow(forecaster.history, req);
        if (!raw.ok || !seen.ok) throw new Error('expected usable windows');
        expect(seen.padded).toBe(0);
        expect(seen.values).toHaveLength(WINDOW_STEPS);
        seen.values.forEach((v, i) => expect(v).toBeCloseTo(raw.values[i] ?? Number.NaN, 9));
        // Persistence: every horizon forecasts the last completed step's mean.
        expect(made?.points[0]?.rh).toBeCloseTo(raw.values[WINDOW_STEPS - 1] ?? Number.NaN, 4);
        // Bounded: one point per step of the window and the step in progress (plus a marker where
        // a step's newest reading is flagged), none before the window: not 90 000 readings.
        expect(forecaster.history.filter((p) => !p.faulty)).toHaveLength(WINDOW_STEPS + 1);
        expect(forecaster.history.length).toBeLessThanOrEqual(2 * (WINDOW_STEPS + 1));
      } finally {
        await forecaster.close();
        store.close();
        cleanup();
      }
    });
  }

  it('says faulty_readings when a sensor keeps sending but every reading is flagged (not stale)', async () => {
    const store = new MemoryStore();
    const forecaster = await OnnxForecaster.load(model, { secondsOfDay: naiveSecondsOfDay });
    try {
      // Good readings for 24 h, then 30 min of readings all flagged out of range, up to now.
      const readings = oneHz(NOW - 25 * 3_600_000, NOW).map((r) => (r.wallTimeMs < NOW - 1_800_000 ? r : { ...r, rh: 120, quality: ['out_of_range' as const] }));
      for (const r of readings) store.append(r);
      const bus = new GatewayBus();
      const refusals: NoForecast[] = [];
      bus.on('noForecast', (n) => refusals.push(n));
      const scheduler = new ForecastScheduler({ store, forecaster, bus, clock: new ManualClock(NOW), checkIntervalMs: 1000, onError: (e) => refusals.push(e as NoForecast) });
      await scheduler.cycle();
      expect(refusals).toMatchObject([{ sensorId: 'attic', reason: 'faulty_readings' }]);
      expect(refusals[0]?.detail).toMatch(/readings arrive \(newest 1 s old\)/);
    } finally {
      await forecaster.close();
      store.close();
    }
  });
});
