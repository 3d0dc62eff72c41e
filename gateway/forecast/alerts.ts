import type { Clock } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import type { Forecast } from '../types.ts';

/**
 * Humidity threshold alerts from forecasts.
 *
 * Rule (documented in docs/mqtt.md and here): the published interval is a central interval at
 * `intervalLevel` (0.8 for the shipped model), so its upper bound is the 90th percentile of
 * the forecast distribution and its lower bound the 10th. An `above` alert is raised when the
 * upper bound reaches the threshold at any horizon: at that horizon P(rh >= above) >= 10%
 * (each bound is calibrated online to be missed 10% of the time: models/band-calibration.ts). `below` mirrors it with
 * the lower bound. The alert clears when no horizon's bound is within `hysteresisRh` of the
 * threshold any more (upper < above - hysteresisRh, or lower > below + hysteresisRh), so a
 * forecast wobbling around the threshold does not flap the alert on and off.
 *
 * `expected_at` is the first time the POINT forecast crosses the threshold, linearly
 * interpolated between the two horizons around the crossing (from the last observed value at
 * the base time when the caller knows it); null when the point forecast stays on the safe
 * side although the interval reaches the threshold (possible, not expected).
 *
 * Alerts are re-evaluated on forecasts only: when the gateway refuses to forecast (gaps,
 * stuck sensor), an alert keeps its last state rather than clearing on missing evidence.
 */

/** One configured threshold (config `forecast.alerts[]`). */
export interface AlertRule {
  /** Sensor id, or "*" for every sensor. */
  sensor: string;
  /** Alert when humidity is likely to reach or exceed this, %RH. */
  above?: number | undefined;
  /** Alert when humidity is likely to reach or fall below this, %RH. */
  below?: number | undefined;
  /** Clearing margin, %RH. */
  hysteresisRh: number;
}

export type AlertDirection = 'above' | 'below';

/** Published on the bus (`alert`) and on MQTT `<prefix>/<sensor>/alert` (retained). */
export interface AlertPayload {
  sensor: string;
  state: 'on' | 'off';
  threshold: number;
  direction: AlertDirection;
  /** ISO time the point forecast crosses the threshold, or null (see the rule above). */
  expected_at: string | null;
  /** First horizon, s after the forecast's base time, at which the interval bound crosses; null when off. */
  horizon_s: number | null;
  /** Lower bound on the crossing probability the rule guarantees: (1 - intervalLevel) / 2. */
  probability_min: number;
  hysteresis_rh: number;
  model_version: string;
  /** Base time of the forecast that decided this state, ISO. */
  forecast_base: string;
  /** When this state was entered (gateway clock), ISO. */
  since: string;
}

export interface AlertEvaluatorOptions {
  rules: AlertRule[];
  clock: Clock;
  /** Central interval level of the model (ModelInfo.intervalLevel), e.g. 0.8. */
  intervalLevel: number;
}

interface Check {
  threshold: number;
  direction: AlertDirection;
  hysteresisRh: number;
}

interface State {
  on: boolean;
  sinceMs: number;
  expectedAt: string | null;
  horizonS: number | null;
}

/**
 * Pure alert state machine: feed it forecasts, it returns the alert payloads to publish.
 * State is one entry per (sensor, rule, direction), so it is bounded by sensors x rules (both
 * bounded by the config schema). It emits when a state changes, and while on when the
 * expected time or the crossing horizon moved, so the retained message stays current.
 */
export class AlertEvaluator {
  private readonly states = new Map<string, State>();

  constructor(private readonly opts: AlertEvaluatorOptions) {}

  /** `lastRh`: the sensor's value at the forecast's base time, if known (improves expected_at). */
  evaluate(forecast: Forecast, lastRh?: number): AlertPayload[] {
    const out: AlertPayload[] = [];
    this.opts.rules.forEach((rule, index) => {
      if (rule.sensor !== '*' && rule.sensor !== forecast.sensorId) return;
      for (const check of checksOf(rule)) {
        const key = `${forecast.sensorId}\u0000${index}\u0000${check.direction}`;
        const payload = this.step(key, check, forecast, lastRh);
        if (payload) out.push(payload);
      }
    });
    return out;
  }

  private step(key: string, check: Check, f: Forecast, lastRh: number | undefined): AlertPayload | null {
    const prev = this.states.get(key);
    const wasOn = prev?.on ?? false;
    const raiseAt = firstBoundCrossing(f, check, 0);
    // While on, the alert holds as long as a bound is within the hysteresis margin.
    const holdAt = wasOn ? firstBoundCrossing(f, check, check.hysteresisRh) : null;
    const on = raiseAt !== null || holdAt !== null;
    const horizonS = on ? (raiseAt ?? holdAt) : null;
    const expectedAt = on ? pointCrossing(f, check, lastRh) : null;
    if (prev === undefined && !on) {
      // Never raised: nothing to clear, and no retained "off" noise for every sensor.
      this.states.set(key, { on: false, sinceMs: this.opts.clock.now(), expectedAt: null, horizonS: null });
      return null;
    }
    const changed = prev === undefined || on !== wasOn;
    if (!changed && !(on && (expectedAt !== prev.expectedAt || horizonS !== prev.horizonS))) return null;
    const sinceMs = changed ? this.opts.clock.now() : prev.sinceMs;
    this.states.set(key, { on, sinceMs, expectedAt, horizonS });
    return {
      sensor: f.sensorId,
      state: on ? 'on' : 'off',
      threshold: check.threshold,
      direction: check.direction,
      expected_at: expectedAt,
      horizon_s: horizonS,
      probability_min: round4((1 - this.opts.intervalLevel) / 2),
      hysteresis_rh: check.hysteresisRh,
      model_version: f.modelVersion,
      forecast_base: new Date(f.baseTimeMs).toISOString(),
      since: new Date(sinceMs).toISOString(),
    };
  }
}

function checksOf(rule: AlertRule): Check[] {
  const out: Check[] = [];
  if (rule.above !== undefined) out.push({ threshold: rule.above, direction: 'above', hysteresisRh: rule.hysteresisRh });
  if (rule.below !== undefined) out.push({ threshold: rule.below, direction: 'below', hysteresisRh: rule.hysteresisRh });
  return out;
}

/** First horizon whose interval bound reaches the threshold moved `marginRh` toward safety. */
function firstBoundCrossing(f: Forecast, c: Check, marginRh: number): number | null {
  for (const p of f.points) {
    if (c.direction === 'above' ? p.upper >= c.threshold - marginRh : p.lower <= c.threshold + marginRh) return p.horizonS;
  }
  return null;
}

/** ISO time the point forecast first reaches the threshold, linearly interpolated. */
function pointCrossing(f: Forecast, c: Check, lastRh: number | undefined): string | null {
  const beyond = (rh: number): boolean => (c.direction === 'above' ? rh >= c.threshold : rh <= c.threshold);
  let prevS = 0;
  let prevRh = lastRh;
  if (prevRh !== undefined && beyond(prevRh)) return new Date(f.baseTimeMs).toISOString();
  for (const p of f.points) {
    if (beyond(p.rh)) {
      let s = p.horizonS;
      if (prevRh !== undefined && p.rh !== prevRh) s = prevS + ((c.threshold - prevRh) / (p.rh - prevRh)) * (p.horizonS - prevS);
      return new Date(f.baseTimeMs + Math.round(s * 1000)).toISOString();
    }
    prevS = p.horizonS;
    prevRh = p.rh;
  }
  return null;
}

function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

/**
 * Wires an evaluator to the bus: every `forecast` is evaluated and each resulting payload is
 * emitted as `alert`. Returns the unsubscribe function (call it on stop).
 */
export function wireAlerts(bus: GatewayBus, evaluator: AlertEvaluator, lastRh: (sensorId: string) => number | undefined = () => undefined): () => void {
  const onForecast = (f: Forecast): void => {
    for (const payload of evaluator.evaluate(f, lastRh(f.sensorId))) bus.emit('alert', payload);
  };
  bus.on('forecast', onForecast);
  return () => {
    bus.off('forecast', onForecast);
  };
}
