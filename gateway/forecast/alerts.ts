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
 * interpolated between the two horizons around the crossing (from the forecast's own value at
 * the base time, Forecast.baseRh, when it has one); null when the point forecast stays on the
 * safe side although the interval reaches the threshold (possible, not expected).
 *
 * Each (rule, direction) is one alert with its own state, its own retained topic
 * `<prefix>/<sensor>/alert/<id>` and its own Home Assistant binary_sensor, so two rules never
 * overwrite each other; `<prefix>/<sensor>/alert` carries their combination (on while any is
 * on: SensorAlertPayload), as it did when a sensor had one rule.
 *
 * Alerts are re-evaluated on forecasts only: when the gateway refuses to forecast (gaps,
 * stuck sensor), an alert keeps its last state rather than clearing on missing evidence.
 */

/** One configured threshold (config `forecast.alerts[]`). */
export interface AlertRule {
  /** Names the rule's alert (a rule with an id has one direction). Default `<direction>-<threshold>`, e.g. `above-70`. */
  id?: string | undefined;
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


/** One alert: a rule's threshold in one direction. A sensor has one alert per (matching rule, direction). */
export interface AlertDef {
  id: string;
  threshold: number;
  direction: AlertDirection;
  hysteresisRh: number;
}

/** One alert of one sensor: bus `alert` (second argument) and MQTT `<prefix>/<sensor>/alert/<id>` (retained). */
export interface AlertPayload {
  sensor: string;
  /** The alert's id (AlertDef.id): the last level of its topic. */
  id: string;
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

/**
 * Every alert of one sensor combined: bus `alert` (first argument), the dashboard and MQTT
 * `<prefix>/<sensor>/alert` (retained). `state` is on while any alert is on, `since` is when
 * that combined state was entered, `active` lists the ids of the alerts that are on (config
 * order). The other fields are the lead alert's: the active one whose bound crosses first
 * (smallest horizon_s, config order on ties), or when all are off the one that just cleared.
 * With one rule this is exactly that rule's payload plus `active`.
 */
export interface SensorAlertPayload extends AlertPayload {
  active: string[];
}

/** What one forecast changed: the sensor's combined state and the alerts whose payload changed. */
export interface AlertUpdate {
  sensor: SensorAlertPayload;
  alerts: AlertPayload[];
}

export interface AlertEvaluatorOptions {
  /** Alert ids must be unique per sensor (duplicateAlertId; the config schema checks it). */
  rules: AlertRule[];
  clock: Clock;
  /**
   * Central interval level of the model forecasting now (ModelInfo.intervalLevel, e.g. 0.8),
   * for a forecast that does not carry its own (Forecast.intervalLevel). Read at every
   * evaluation, so a model promoted at runtime is followed at once.
   */
  intervalLevel: () => number;
}

interface State {
  on: boolean;
  sinceMs: number;
  /** The payload last emitted; null while the alert has never been raised. */
  payload: AlertPayload | null;
}

/** The default id of a rule's alert in one direction: `above-70`, `below-30_5`. */
export function defaultAlertId(direction: AlertDirection, threshold: number): string {
  return `${direction}-${String(threshold).replace('.', '_')}`;
}

/** The alerts of one rule, `above` first. */
export function alertsOfRule(rule: AlertRule): AlertDef[] {
  const out: AlertDef[] = [];
  for (const direction of ['above', 'below'] as const) {
    const threshold = rule[direction];
    if (threshold !== undefined) out.push({ id: rule.id ?? defaultAlertId(direction, threshold), threshold, direction, hysteresisRh: rule.hysteresisRh });
  }
  return out;
}

/** The alerts that apply to a sensor, in config order (what gets a topic and an HA entity). */
export function alertsFor(rules: readonly AlertRule[], sensorId: string): AlertDef[] {
  return rules.filter((r) => r.sensor === '*' || r.sensor === sensorId).flatMap(alertsOfRule);
}

/**
 * The first alert id that two rules applying to the same sensor share (a "*" rule applies to
 * every sensor), as { index, id, other } (rule indexes), or null when ids are unique per sensor.
 */
export function duplicateAlertId(rules: readonly AlertRule[]): { index: number; id: string; other: number } | null {
  for (let i = 0; i < rules.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [rules[i]!, rules[j]!];
      if (a.sensor !== '*' && b.sensor !== '*' && a.sensor !== b.sensor) continue;
      const taken = new Set(alertsOfRule(b).map((d) => d.id));
      const id = alertsOfRule(a).find((d) => taken.has(d.id))?.id;
      if (id !== undefined) return { index: i, id, other: j };
    }
  }
  return null;
}

/**
 * Pure alert state machine: feed it forecasts, it returns the alert payloads to publish.
 * State is one entry per (sensor, alert) plus one combined entry per sensor, so it is bounded
 * by sensors x rules (rules are bounded by the config schema). It emits when a state changes,
 * while on when the expected time or the crossing horizon moved, and, on or off, when the
 * model behind the payload changed (model_version or probability_min: a promotion or rollback),
 * so the retained message stays current without being republished at every forecast. The first
 * forecast of each alert after start always emits (off included), so a state from before a restart
 * is overwritten.
 */
export class AlertEvaluator {
  private readonly states = new Map<string, State>();
  private readonly combined = new Map<string, { on: boolean; sinceMs: number }>();

  constructor(private readonly opts: AlertEvaluatorOptions) {
    const dup = duplicateAlertId(opts.rules);
    if (dup) throw new RangeError(`alert rules ${dup.other} and ${dup.index} both name an alert "${dup.id}" of the same sensor; give one an id`);
  }

  /** The alerts this forecast changed and the sensor's combined state; null when nothing changed. */
  evaluate(forecast: Forecast): AlertUpdate | null {
    const defs = alertsFor(this.opts.rules, forecast.sensorId);
    const alerts: AlertPayload[] = [];
    for (const def of defs) {
      const payload = this.step(def, forecast);
      if (payload) alerts.push(payload);
    }
    return alerts.length === 0 ? null : { sensor: this.combine(forecast.sensorId, defs, alerts), alerts };
  }

  private step(def: AlertDef, f: Forecast): AlertPayload | null {
    const key = stateKey(f.sensorId, def.id);
    const prev = this.states.get(key);
    const wasOn = prev?.on ?? false;
    const raiseAt = firstBoundCrossing(f, def, 0);
    // While on, the alert holds as long as a bound is within the hysteresis margin.
    const holdAt = wasOn ? firstBoundCrossing(f, def, def.hysteresisRh) : null;
    const on = raiseAt !== null || holdAt !== null;
    const horizonS = on ? (raiseAt ?? holdAt) : null;
    const expectedAt = on ? pointCrossing(f, def) : null;
    // The first evaluation since start publishes the state even when off: the embedded broker's
    // retained messages do not survive a restart, but Home Assistant and other subscribers keep
    // the last state they got, so an alert on before a restart would otherwise stay on for good.
    const changed = prev === undefined || on !== wasOn;
    const sinceMs = changed ? this.opts.clock.now() : prev.sinceMs;
    const payload: AlertPayload = {
      sensor: f.sensorId,
      id: def.id,
      state: on ? 'on' : 'off',
      threshold: def.threshold,
      direction: def.direction,
      expected_at: expectedAt,
      horizon_s: horizonS,
      probability_min: round4((1 - (f.intervalLevel ?? this.opts.intervalLevel())) / 2),
      hysteresis_rh: def.hysteresisRh,
      model_version: f.modelVersion,
      forecast_base: new Date(f.baseTimeMs).toISOString(),
      since: new Date(sinceMs).toISOString(),
    };
    if (!changed && !outdated(prev.payload, payload)) return null;
    this.states.set(key, { on, sinceMs, payload });
    return payload;
  }

  /** The sensor's combined payload after `changed` (non-empty) were emitted (SensorAlertPayload). */
  private combine(sensorId: string, defs: AlertDef[], changed: AlertPayload[]): SensorAlertPayload {
    const active = defs.map((d) => this.states.get(stateKey(sensorId, d.id))?.payload).filter((p): p is AlertPayload => p?.state === 'on');
    const lead = active.reduce<AlertPayload | null>((best, p) => (best === null || p.horizon_s! < best.horizon_s! ? p : best), null) ?? changed[0]!;
    const on = active.length > 0;
    const prev = this.combined.get(sensorId);
    const sinceMs = prev?.on === on ? prev.sinceMs : this.opts.clock.now();
    this.combined.set(sensorId, { on, sinceMs });
    return { ...lead, state: on ? 'on' : 'off', since: new Date(sinceMs).toISOString(), active: active.map((p) => p.id) };
  }
}

function stateKey(sensorId: string, alertId: string): string {
  return `${sensorId}\u0000${alertId}`;
}

/**
 * Whether the retained payload of an alert whose state did not change is out of date: while on,
 * the crossing moved; on or off, the model behind it changed (a ModelManager promotion or rollback
 * changes model_version, and probability_min with the interval level). Every forecast has a new
 * forecast_base, so that field alone never republishes. Never raised (`last` null): nothing to update.
 */
function outdated(last: AlertPayload | null, next: AlertPayload): boolean {
  if (last === null) return false;
  const moved = next.state === 'on' && (next.expected_at !== last.expected_at || next.horizon_s !== last.horizon_s);
  return moved || next.model_version !== last.model_version || next.probability_min !== last.probability_min;
}

/** First horizon whose interval bound reaches the threshold moved `marginRh` toward safety. */
function firstBoundCrossing(f: Forecast, c: AlertDef, marginRh: number): number | null {
  for (const p of f.points) {
    if (c.direction === 'above' ? p.upper >= c.threshold - marginRh : p.lower <= c.threshold + marginRh) return p.horizonS;
  }
  return null;
}

/** ISO time the point forecast first reaches the threshold, linearly interpolated from its value at the base time. */
function pointCrossing(f: Forecast, c: AlertDef): string | null {
  const beyond = (rh: number): boolean => (c.direction === 'above' ? rh >= c.threshold : rh <= c.threshold);
  let prevS = 0;
  let prevRh = f.baseRh;
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
 * Wires an evaluator to the bus: every `forecast` is evaluated and each update is emitted as
 * `alert` (combined payload, changed alerts). Returns the unsubscribe function (call it on stop).
 */
export function wireAlerts(bus: GatewayBus, evaluator: AlertEvaluator): () => void {
  const onForecast = (f: Forecast): void => {
    const update = evaluator.evaluate(f);
    if (update) bus.emit('alert', update.sensor, update.alerts);
  };
  bus.on('forecast', onForecast);
  return () => {
    bus.off('forecast', onForecast);
  };
}
