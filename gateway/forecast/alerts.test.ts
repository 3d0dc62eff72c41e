import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import type { Forecast } from '../types.ts';
import { AlertEvaluator, alertsFor, duplicateAlertId, wireAlerts } from './alerts.ts';
import type { AlertPayload, AlertRule, SensorAlertPayload } from './alerts.ts';

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
  return new AlertEvaluator({ rules, clock, intervalLevel: () => 0.8 });
}

/** The alerts one forecast changed (none: []); `baseRh`: the forecast's value at its base time. */
function changed(ev: AlertEvaluator, f: Forecast, baseRh?: number): AlertPayload[] {
  return ev.evaluate(baseRh === undefined ? f : { ...f, baseRh })?.alerts ?? [];
}

describe('AlertEvaluator', () => {
  it('raises when the upper bound reaches the threshold, with the interpolated point crossing', () => {
    const ev = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    const [a, ...rest] = changed(ev, forecast([66, 67, 68, 69, 71, 72]), 65);
    expect(rest).toEqual([]);
    expect(a).toMatchObject({ sensor: 'cellar', id: 'above-70', state: 'on', threshold: 70, direction: 'above', probability_min: 0.1, model_version: 'test-v1' });
    // upper = point + 1 reaches 70 first at 4 h (69 + 1).
    expect(a?.horizon_s).toBe(4 * 3600);
    // point crosses 70 halfway between 4 h (69) and 5 h (71).
    expect(a?.expected_at).toBe(new Date(BASE + 4.5 * 3600_000).toISOString());
  });

  it('states off once at start, then stays silent while the interval stays below the threshold', () => {
    const ev = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    const first = ev.evaluate(forecast([60, 61, 62, 63, 64, 65]));
    expect(first?.alerts.map((a) => [a.id, a.state])).toEqual([['above-70', 'off']]);
    expect(first?.sensor).toMatchObject({ state: 'off', active: [] });
    expect(ev.evaluate(forecast([60, 61, 62, 63, 64, 65]))).toBeNull();
    expect(ev.evaluate(forecast([60, 61, 62, 63, 64, 68.9]))).toBeNull();
  });

  it('clears after a restart an alert that was on before it (a fresh evaluator states off at once)', () => {
    // The retained "on" from before the restart is gone from the embedded broker, but subscribers
    // such as Home Assistant still hold it: the first forecast must overwrite it.
    const before = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    expect(changed(before, forecast([80, 80, 80, 80, 80, 80]))[0]?.state).toBe('on');
    const after = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    const update = after.evaluate(forecast([40, 40, 40, 40, 40, 40]));
    expect(update?.alerts).toEqual([expect.objectContaining({ id: 'above-70', state: 'off', horizon_s: null })]);
    expect(update?.sensor).toMatchObject({ state: 'off' });
  });

  it('raises on the interval alone with expected_at null when the point forecast never crosses', () => {
    const ev = evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]);
    const [a] = changed(ev, forecast([66, 67, 68, 69, 69, 69], 1.5));
    expect(a).toMatchObject({ state: 'on', horizon_s: 4 * 3600, expected_at: null });
  });

  it('clears only once the bound is hysteresisRh below the threshold, and stamps since with the clock', () => {
    const clock = new ManualClock(BASE);
    const ev = evaluator([{ sensor: 'cellar', above: 70, hysteresisRh: 2 }], clock);
    expect(changed(ev, forecast([69.5, 70.5, 70.5, 70.5, 70.5, 70.5]))[0]?.state).toBe('on');
    clock.advance(600_000);
    // Upper bound 68.5 is below 70 but within hysteresisRh (2) of it: the alert holds.
    const held = changed(ev, forecast([67.5, 67.5, 67.5, 67.5, 67.5, 67.5]));
    expect(held).toHaveLength(1); // still on, but the point forecast no longer crosses
    expect(held[0]).toMatchObject({ state: 'on', expected_at: null, since: new Date(BASE).toISOString() });
    expect(ev.evaluate(forecast([67.5, 67.5, 67.5, 67.5, 67.5, 67.5]))).toBeNull();
    clock.advance(600_000);
    const [off] = changed(ev, forecast([66.9, 66.9, 66.9, 66.9, 66.9, 66.9]));
    expect(off).toMatchObject({ state: 'off', horizon_s: null, expected_at: null, since: new Date(BASE + 1_200_000).toISOString() });
    expect(ev.evaluate(forecast([66.9, 66.9, 66.9, 66.9, 66.9, 66.9]))).toBeNull();
  });

  it('handles below thresholds with the lower bound, and a value already beyond at the base time', () => {
    const ev = evaluator([{ sensor: '*', below: 35, hysteresisRh: 2 }]);
    const [a] = changed(ev, forecast([36, 35.5, 34, 33, 33, 33]), 37);
    expect(a).toMatchObject({ state: 'on', direction: 'below', threshold: 35, horizon_s: 3600 });
    expect(a?.expected_at).toBe(new Date(BASE + 2 * 3600_000 + (0.5 / 1.5) * 3600_000).toISOString());
    const ev2 = evaluator([{ sensor: '*', below: 35, hysteresisRh: 2 }]);
    expect(changed(ev2, forecast([34, 34, 34, 34, 34, 34]), 34.5)[0]?.expected_at).toBe(new Date(BASE).toISOString());
  });

  it('applies rules per sensor and keeps separate state per sensor and direction', () => {
    const ev = evaluator([
      { sensor: 'bath', above: 80, hysteresisRh: 2 },
      { sensor: '*', above: 70, below: 30, hysteresisRh: 1 },
    ]);
    const cellar = changed(ev, forecast([75, 75, 75, 75, 75, 75], 1, 'cellar'));
    expect(cellar.map((a) => [a.sensor, a.threshold, a.direction, a.state])).toEqual([['cellar', 70, 'above', 'on'], ['cellar', 30, 'below', 'off']]);
    const bath = changed(ev, forecast([85, 85, 85, 85, 85, 85], 1, 'bath'));
    expect(bath.map((a) => [a.sensor, a.threshold, a.state])).toEqual([['bath', 80, 'on'], ['bath', 70, 'on'], ['bath', 30, 'off']]);
    const lowCellar = changed(ev, forecast([29, 29, 29, 29, 29, 29], 1, 'cellar'));
    expect(lowCellar.map((a) => [a.state, a.direction])).toEqual([['off', 'above'], ['on', 'below']]);
  });

  it('emits alert events on the bus for forecasts until unsubscribed', () => {
    const bus = new GatewayBus();
    const seen: Array<[SensorAlertPayload, readonly AlertPayload[]]> = [];
    bus.on('alert', (combined, alerts) => seen.push([combined, alerts]));
    const stop = wireAlerts(bus, evaluator([{ sensor: '*', above: 70, hysteresisRh: 2 }]));
    bus.emit('forecast', { ...forecast([69, 71, 72, 72, 72, 72]), baseRh: 68 });
    expect(seen.map(([c, alerts]) => [c.state, c.active, alerts.map((a) => a.id)])).toEqual([['on', ['above-70'], ['above-70']]]);
    expect(seen[0]?.[0].expected_at).toBe(new Date(BASE + 1.5 * 3600_000).toISOString());
    stop();
    bus.emit('forecast', forecast([50, 50, 50, 50, 50, 50]));
    expect(seen).toHaveLength(1);
  });

  it('keeps one state per rule: a rule clearing does not clear the sensor while another is on', () => {
    const clock = new ManualClock(BASE);
    const ev = evaluator([
      { sensor: '*', above: 70, hysteresisRh: 2 },
      { sensor: 'cellar', id: 'very-damp', above: 80, hysteresisRh: 2 },
    ], clock);
    const both = ev.evaluate(forecast([85, 85, 85, 85, 85, 85]));
    expect(both?.alerts.map((a) => [a.id, a.state])).toEqual([['above-70', 'on'], ['very-damp', 'on']]);
    expect(both?.sensor).toMatchObject({ state: 'on', active: ['above-70', 'very-damp'], since: new Date(BASE).toISOString() });
    clock.advance(600_000);
    // 75 ± 1: "very-damp" (80) clears, "above-70" stays on unchanged: only the clearing is an
    // alert update, and the sensor's combined state stays on.
    const one = ev.evaluate(forecast([75, 75, 75, 75, 75, 75]));
    expect(one?.alerts.map((a) => [a.id, a.state])).toEqual([['very-damp', 'off']]);
    expect(one?.sensor).toMatchObject({ state: 'on', active: ['above-70'], id: 'above-70', threshold: 70, since: new Date(BASE).toISOString() });
    clock.advance(600_000);
    const none = ev.evaluate(forecast([60, 60, 60, 60, 60, 60]));
    expect(none?.alerts.map((a) => [a.id, a.state])).toEqual([['above-70', 'off']]);
    expect(none?.sensor).toMatchObject({ state: 'off', active: [], id: 'above-70', since: new Date(BASE + 1_200_000).toISOString() });
  });

  it('leads the combined payload with the alert that crosses first, and keeps above and below apart', () => {
    const ev = evaluator([{ sensor: '*', above: 70, below: 30, hysteresisRh: 2 }, { sensor: '*', above: 60, hysteresisRh: 2 }]);
    // 55 now, 65 at 2 h, 75 from 3 h: above-60 crosses at 1 h (upper 61), above-70 at 3 h.
    const up = ev.evaluate(forecast([60, 65, 75, 75, 75, 75]));
    expect(up?.sensor).toMatchObject({ state: 'on', id: 'above-60', horizon_s: 3600, active: ['above-70', 'above-60'] });
    expect(up?.alerts.map((a) => [a.id, a.state])).toEqual([['above-70', 'on'], ['below-30', 'off'], ['above-60', 'on']]);
  });

  it('reads the interval level at each evaluation, so probability_min follows a new model', () => {
    let level = 0.8;
    const ev = new AlertEvaluator({ rules: [{ sensor: '*', above: 70, hysteresisRh: 2 }], clock: new ManualClock(BASE), intervalLevel: () => level });
    expect(changed(ev, forecast([75, 75, 75, 75, 75, 75]))[0]?.probability_min).toBe(0.1);
    level = 0.9;
    expect(changed(ev, forecast([69, 75, 75, 75, 75, 75]))[0]?.probability_min).toBe(0.05);
  });

  it("states the level of the forecast's own model, not the level of a model swapped in since", () => {
    const ev = new AlertEvaluator({ rules: [{ sensor: '*', above: 70, hysteresisRh: 2 }], clock: new ManualClock(BASE), intervalLevel: () => 0.9 });
    expect(changed(ev, { ...forecast([75, 75, 75, 75, 75, 75]), intervalLevel: 0.8 })[0]?.probability_min).toBe(0.1);
  });

  it('republishes every raised alert, on or off, once the model changes with the state unchanged, then goes quiet', () => {
    const clock = new ManualClock(BASE);
    let level = 0.8;
    const ev = new AlertEvaluator({ rules: [{ sensor: '*', above: 70, hysteresisRh: 2 }, { sensor: '*', id: 'very-damp', above: 80, hysteresisRh: 2 }], clock, intervalLevel: () => level });
    const byModel = (version: string, rh: number): Forecast => ({ ...forecast([rh, rh, rh, rh, rh, rh]), modelVersion: version });
    ev.evaluate(byModel('A', 85)); // both on
    clock.advance(600_000);
    expect(ev.evaluate(byModel('A', 75))?.alerts.map((a) => [a.id, a.state])).toEqual([['very-damp', 'off']]);
    expect(ev.evaluate(byModel('A', 75))).toBeNull();
    // A promotion: ModelManager's holder now has B's version and interval level.
    level = 0.9;
    clock.advance(600_000);
    const swapped = ev.evaluate(byModel('B', 75));
    expect(swapped?.alerts.map((a) => [a.id, a.state, a.model_version, a.probability_min, a.since])).toEqual([
      ['above-70', 'on', 'B', 0.05, new Date(BASE).toISOString()],
      ['very-damp', 'off', 'B', 0.05, new Date(BASE + 600_000).toISOString()],
    ]);
    expect(swapped?.sensor).toMatchObject({ id: 'above-70', state: 'on', model_version: 'B', probability_min: 0.05, since: new Date(BASE).toISOString() });
    expect(ev.evaluate(byModel('B', 75))).toBeNull();
    // A rollback to A: the same again.
    level = 0.8;
    expect(ev.evaluate(byModel('A', 75))?.alerts.map((a) => [a.model_version, a.probability_min])).toEqual([['A', 0.1], ['A', 0.1]]);
  });

  it('names alerts by id or by direction and threshold, and refuses two alerts of one name on a sensor', () => {
    const rules: AlertRule[] = [
      { sensor: '*', above: 70.5, below: 30, hysteresisRh: 2 },
      { sensor: 'bath', id: 'shower', above: 90, hysteresisRh: 2 },
    ];
    expect(alertsFor(rules, 'bath').map((a) => a.id)).toEqual(['above-70_5', 'below-30', 'shower']);
    expect(alertsFor(rules, 'cellar').map((a) => a.id)).toEqual(['above-70_5', 'below-30']);
    expect(duplicateAlertId(rules)).toBeNull();
    // Same default name on different sensors is fine; on an overlapping sensor it is not.
    expect(duplicateAlertId([{ sensor: 'a', above: 70, hysteresisRh: 2 }, { sensor: 'b', above: 70, hysteresisRh: 1 }])).toBeNull();
    const clash: AlertRule[] = [...rules, { sensor: 'bath', above: 70.5, hysteresisRh: 1 }];
    expect(duplicateAlertId(clash)).toEqual({ index: 2, id: 'above-70_5', other: 0 });
    expect(() => evaluator(clash)).toThrow(/rules 0 and 2 both name an alert "above-70_5"/);
  });
});
