import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import type { Forecast } from '../types.ts';
import type { SensorAlertPayload } from './alerts.ts';
import { startAlerts } from './start-alerts.ts';

const BASE = Date.UTC(2026, 0, 1, 12, 0);

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

/** startAlerts on a fresh bus with a model holder whose info can be swapped; returns the combined payloads seen. */
function started(model: { info: { intervalLevel: number } }): { bus: GatewayBus; seen: SensorAlertPayload[]; stop: () => void } {
  const bus = new GatewayBus();
  const seen: SensorAlertPayload[] = [];
  bus.on('alert', (a) => seen.push(a));
  const stop = startAlerts({ bus, rules: [{ sensor: '*', above: 70, hysteresisRh: 2 }], clock: new ManualClock(BASE), model });
  return { bus, seen, stop };
}

describe('startAlerts', () => {
  it("interpolates expected_at from the forecast's own value at its base time", () => {
    // 66 at the base time, 74 at 1 h: the point forecast crosses 70 at 30 min, not at 1 h.
    const { bus, seen, stop } = started({ info: { intervalLevel: 0.8 } });
    bus.emit('forecast', forecast([74, 74, 74, 74, 74, 74], { baseRh: 66 }));
    expect(seen[0]?.expected_at).toBe(new Date(BASE + 1800_000).toISOString());
    stop();
  });

  it('republishes with the model in use after a swap, the alert state unchanged, and only once', () => {
    const model = { info: { intervalLevel: 0.8 } };
    const { bus, seen, stop } = started(model);
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75]));
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75]));
    // What ModelManager.forecaster does on a promotion: its `info` is then the new model's.
    model.info = { intervalLevel: 0.9 };
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75], { modelVersion: 'test-v2' }));
    bus.emit('forecast', forecast([75, 75, 75, 75, 75, 75], { modelVersion: 'test-v2' }));
    expect(seen.map((a) => [a.state, a.model_version, a.probability_min])).toEqual([
      ['on', 'test-v1', 0.1],
      ['on', 'test-v2', 0.05],
    ]);
    stop();
  });
});
