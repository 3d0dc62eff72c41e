import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import type { Forecast } from '../types.ts';
import { AlertEvaluator, wireAlerts } from './alerts.ts';
import type { AlertPayload, AlertRule } from './alerts.ts';

const BASE = Date.UTC(2026, 0, 1, 12, 0);

/** A forecast with hourly horizons 1..6 h, point values `rh`, interval point ± `halfWidth`. */
function forecast(rh: number[], halfWidth = 1, sensorId = 'cellar'): Forecast {
  return {
    sensorId,
    issuedAtMs: BASE,
    baseTimeMs: BASE,
    modelVersion: 'test-v1',
    warmingUp: false,
    points: rh.map((v, i) => ({ horizonS: (i + 1) * 3600, rh: v, lower: v - halfWidth, upper: v + halfWidth })),
  };
}

function evaluator(rules: AlertRule[], clock = new ManualClock(BASE)): AlertEvaluator {
  return new AlertEvaluator({ rules, clock, intervalLevel: 0.8 });
}

describe('AlertEvaluator', () => {
  it('raises when the upper bound reaches the threshold, with the interpolated point crossing', () => {
    const ev = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    const [a, ...rest] = ev.evaluate(forecast([66, 67, 68, 69, 71, 72]), 65);
    expect(rest).toEqual([]);
    expect(a).toMatchObject({ sensor: 'cellar', state: 'on', threshold: 70, direction: 'above', probability_min: 0.1, model_version: 'test-v1' });
    // upper = point + 1 reaches 70 first at 4 h (69 + 1).
    expect(a?.horizon_s).toBe(4 * 3600);
    // point crosses 70 halfway between 4 h (69) and 5 h (71).
    expect(a?.expected_at).toBe(new Date(BASE + 4.5 * 3600_000).toISOString());
  });

  it('stays off (and silent) while the interval stays below the threshold', () => {
    const ev = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    expect(ev.evaluate(forecast([60, 61, 62, 63, 64, 65]))).toEqual([]);
    expect(ev.evaluate(forecast([60, 61, 62, 63, 64, 68.9]))).toEqual([]);
  });

  it('raises on the interval alone with expected_at null when the point forecast never crosses', () => {
    const ev = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    const [a] = ev.evaluate(forecast([66, 67, 68, 69, 69, 69], 1.5));
    expect(a).toMatchObject({ state: 'on', horizon_s: 4 * 3600, expected_at: null });
  });

  it('clears only once the bound is hysteresisRh below the threshold, and stamps since with the clock', () => {
    const clock = new ManualClock(BASE);
    const ev = evaluator([{ sensor: 'cellar', above: 70, hysteresisRh: 2 }], clock);
    expect(ev.evaluate(forecast([69.5, 70.5, 70.5, 70.5, 70.5, 70.5]))[0]?.state).toBe('on');
    clock.advance(600_000);
    // Upper bound 68.5 is below 70 but within hysteresisRh (2) of it: the alert holds.
    const held = ev.evaluate(forecast([67.5, 67.5, 67.5, 67.5, 67.5, 67.5]));
    expect(held).toHaveLength(1); // still on, but the point forecast no longer crosses
    expect(held[0]).toMatchObject({ state: 'on', expected_at: null, since: new Date(BASE).toISOString() });
    expect(ev.evaluate(forecast([67.5, 67.5, 67.5, 67.5, 67.5, 67.5]))).toEqual([]);
    clock.advance(600_000);
    const [off] = ev.evaluate(forecast([66.9, 66.9, 66.9, 66.9, 66.9, 66.9]));
    expect(off).toMatchObject({ state: 'off', horizon_s: null, expected_at: null, since: new Date(BASE + 1_200_000).toISOString() });
    expect(ev.evaluate(forecast([66.9, 66.9, 66.9, 66.9, 66.9, 66.9]))).toEqual([]);
  });

  it('handles below thresholds with the lower bound, and a value already beyond at the base time', () => {
    const ev = evaluator([{ sensor: '*', below: 35, hysteresisRh: 2 }]);
    const [a] = ev.evaluate(forecast([36, 35.5, 34, 33, 33, 33]), 37);
    expect(a).toMatchObject({ state: 'on', direction: 'below', threshold: 35, horizon_s: 3600 });
    expect(a?.expected_at).toBe(new Date(BASE + 2 * 3600_000 + (0.5 / 1.5) * 3600_000).toISOString());
    const ev2 = evaluator([{ sensor: '*', below: 35, hysteresisRh: 2 }]);
    expect(ev2.evaluate(forecast([34, 34, 34, 34, 34, 34]), 34.5)[0]?.expected_at).toBe(new Date(BASE).toISOString());
  });

  it('applies rules per sensor and keeps separate state per sensor and direction', () => {
    const ev = evaluator([
      { sensor: 'bath', above: 80, hysteresisRh: 2 },
      { sensor: '*', above: 70, below: 30, hysteresisRh: 1 },
    ]);
    const cellar = ev.evaluate(forecast([75, 75, 75, 75, 75, 75], 1, 'cellar'));
    expect(cellar.map((a) => [a.sensor, a.threshold, a.direction])).toEqual([['cellar', 70, 'above']]);
    const bath = ev.evaluate(forecast([85, 85, 85, 85, 85, 85], 1, 'bath'));
    expect(bath.map((a) => [a.sensor, a.threshold])).toEqual([['bath', 80], ['bath', 70]]);
    const lowCellar = ev.evaluate(forecast([29, 29, 29, 29, 29, 29], 1, 'cellar'));
    expect(lowCellar.map((a) => [a.state, a.direction])).toEqual([['off', 'above'], ['on', 'below']]);
  });

  it('emits alert events on the bus for forecasts until unsubscribed', () => {
    const bus = new GatewayBus();
    const seen: AlertPayload[] = [];
    bus.on('alert', (a) => seen.push(a));
    const stop = wireAlerts(bus, evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]), () => 68);
    bus.emit('forecast', forecast([69, 71, 72, 72, 72, 72]));
    expect(seen.map((a) => a.state)).toEqual(['on']);
    expect(seen[0]?.expected_at).toBe(new Date(BASE + 1.5 * 3600_000).toISOString());
    stop();
    bus.emit('forecast', forecast([50, 50, 50, 50, 50, 50]));
    expect(seen).toHaveLength(1);
  });
});
