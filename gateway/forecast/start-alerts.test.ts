import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Forecast, QualityFlag } from '../types.ts';
import type { SensorAlertPayload } from './alerts.ts';
import { rhAtBase, startAlerts } from './start-alerts.ts';

const BASE = Date.UTC(2026, 0, 1, 12, 0);
const STEP_S = 600;

/** A forecast from BASE with hourly horizons, point values `rh`, interval point ± 1. */
function forecast(rh: number[], over: Partial<Forecast> = {}): Forecast {
  return {
    sensorId: 'cellar',
    issuedAtMs: BASE + 5000,
    baseTimeMs: BASE,
    modelVersion: 'test-v1',
    warmingUp: false,
    points: rh.map((v, i) => ({ horizonS: (i + 1) * 3600, rh: v, lower: v - 1, upper: v + 1 })),
    ...over,
  };
}

function storeWith(readings: Array<{ atMs: number; rh: number | null; quality?: QualityFlag[] }>): MemoryStore {
  const store = new MemoryStore();
  readings.forEach((r, seq) => store.append({ sensorId: 'cellar', bootId: 'b1', seq, uptimeMs: seq * 1000, wallTimeMs: r.atMs, rh: r.rh, tempC: null, quality: r.quality ?? [] }));
  return store;
}

/** startAlerts on a fresh bus with a model holder whose info can be swapped; returns the combined payloads seen. */
function started(store: MemoryStore, model: { info: { intervalLevel: number; stepS: number } }): { bus: GatewayBus; seen: SensorAlertPayload[]; stop: () => void } {
  const bus = new GatewayBus();
  const seen: SensorAlertPayload[] = [];
  bus.on('alert', (a) => seen.push(a));
  const stop = startAlerts({ bus, rules: [{ sensor: '*', above: 70, hysteresisRh: 2 }], clock: new ManualClock(BASE), model, store });
  return { bus, seen, stop };
}

describe('startAlerts', () => {
  it('interpolates expected_at from the value the store holds at the forecast base time', () => {
    // 66 at the base time, 74 at 1 h: the point forecast crosses 70 at 30 min, not at 1 h.
    const { bus, seen, stop } = started(storeWith([{ atMs: BASE - 60_000, rh: 66 }]), { info: { intervalLevel: 0.8, stepS: STEP_S } });
    bus.emit('forecast', forecast([74, 74, 74, 74, 74, 74]));
    expect(seen[0]?.expected_at).toBe(new Date(BASE + 1800_000).toISOString());
    stop();
  });

  it('republishes with the model in use after a swap, the alert state unchanged, and only once', () => {
    const model = { info: { intervalLevel: 0.8, stepS: STEP_S } };
    const { bus, seen, stop } = started(storeWith([]), model);
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75]));
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75]));
    // What ModelManager.forecaster does on a promotion: its `info` is then the new model's.
    model.info = { intervalLevel: 0.9, stepS: STEP_S };
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75], { modelVersion: 'test-v2' }));
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75], { modelVersion: 'test-v2' }));
    expect(seen.map((a) => [a.state, a.model_version, a.probability_min])).toEqual([
      ['on', 'test-v1', 0.1],
      ['on', 'test-v2', 0.05],
    ]);
    stop();
  });
});

describe('rhAtBase', () => {
  it('is the newest usable reading of the step ending at the base time', () => {
    const store = storeWith([
      { atMs: BASE - 700_000, rh: 50 }, // before the step
      { atMs: BASE - 300_000, rh: 60 },
      { atMs: BASE - 200_000, rh: 99, quality: ['spike'] }, // not model input
      { atMs: BASE - 100_000, rh: null, quality: ['sensor_error'] },
      { atMs: BASE + 1000, rh: 80 }, // after the base time
    ]);
    expect(rhAtBase(store, forecast([60]), STEP_S * 1000)).toBe(60);
    expect(rhAtBase(storeWith([{ atMs: BASE - 700_000, rh: 50 }]), forecast([60]), STEP_S * 1000)).toBeUndefined();
  });
});
