// The alert and the forecast agree on the sensor's value at the base time: expected_at is
// interpolated from the value the model's points continue from (the last step's mean), not
// from a raw reading of that step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRidgeModel } from '../../models/ridge-onnx.ts';
import { persistenceWeights, tempDir, testContract } from '../../models/test-fixtures.ts';
import type { TempDir } from '../../models/test-fixtures.ts';
import { naiveSecondsOfDay } from '../../models/time-features.ts';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Forecast } from '../types.ts';
import type { SensorAlertPayload } from './alerts.ts';
import { OnnxForecaster } from './onnx-forecaster.ts';
import { ForecastScheduler } from './scheduler.ts';
import { startAlerts } from './start-alerts.ts';

const STEP_MS = 600_000;
/** A step boundary: the base time of the forecast made just after it. */
const BASE = Date.UTC(2026, 0, 1, 12);

let tmp: TempDir;
let forecaster: OnnxForecaster;
beforeAll(async () => {
  tmp = await tempDir();
  // Persistence plus 12 %RH at every horizon (600, 1200, 1800 s), interval ± 1.
  const weights = { ...persistenceWeights(6, 3), b: Float32Array.of(12, 12, 12) };
  forecaster = await OnnxForecaster.load(await tmp.write('up12.onnx', buildRidgeModel(weights, testContract())), { secondsOfDay: naiveSecondsOfDay });
});
afterAll(async () => {
  await forecaster.close();
  await tmp.remove();
});

/** A reading every 10 s over the window's 6 steps: 60 %RH, then the last step alternating 56 and 64 (mean 60, newest 64). */
function storeWithWindow(): MemoryStore {
  const store = new MemoryStore();
  for (let t = BASE - 6 * STEP_MS, seq = 0; t < BASE; t += 10_000, seq++) {
    const rh = t < BASE - STEP_MS ? 60 : seq % 2 === 0 ? 56 : 64;
    store.append({ sensorId: 'cellar', bootId: 'b', seq, uptimeMs: seq * 10_000, wallTimeMs: t, rh, tempC: null, quality: [] });
  }
  return store;
}

describe('alert expected_at from the forecast through the scheduler', () => {
  it("is interpolated from the forecast's last value (the step mean the model saw), not from the newest raw reading", async () => {
    const store = storeWithWindow();
    expect(store.recent('cellar', BASE - STEP_MS).at(-1)?.rh).toBe(64);
    const bus = new GatewayBus();
    const clock = new ManualClock(BASE + 5000);
    const forecasts: Forecast[] = [];
    const alerts: SensorAlertPayload[] = [];
    bus.on('forecast', (f) => forecasts.push(f));
    bus.on('alert', (a) => alerts.push(a));
    const stop = startAlerts({ bus, rules: [{ sensor: '*', above: 70, hysteresisRh: 2 }], clock, model: forecaster });
    const errors: unknown[] = [];
    const scheduler = new ForecastScheduler({ store, forecaster, bus, clock, checkIntervalMs: 1000, onError: (e) => errors.push(e) });
    await scheduler.cycle();
    stop();
    expect(errors).toEqual([]);
    const [f] = forecasts;
    expect([f?.baseTimeMs, f?.baseRh, f?.points[0]?.rh]).toEqual([BASE, 60, 72]);
    // 60 at the base time, 72 at 600 s: 70 is crossed at 500 s (from the newest reading, 64, it would be 450 s).
    expect(alerts.map((a) => [a.state, a.horizon_s, a.expected_at])).toEqual([['on', 600, new Date(BASE + 500_000).toISOString()]]);
  });
});
