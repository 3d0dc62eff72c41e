import type { Clock } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import type { ReadingStore } from '../store/store.ts';
import type { Forecast } from '../types.ts';
import { AlertEvaluator, wireAlerts, type AlertRule } from './alerts.ts';
import type { ModelInfo } from './forecaster.ts';
import { toHistory } from './scheduler.ts';

export interface StartAlertsOptions {
  bus: GatewayBus;
  /** Config `forecast.alerts`. */
  rules: AlertRule[];
  clock: Clock;
  /**
   * The forecaster in use: the ModelManager's holder, whose `info` is the active model's. Read
   * at every forecast, so the interval level (probability_min) and the step follow a promotion.
   */
  model: { readonly info: Pick<ModelInfo, 'intervalLevel' | 'stepS'> };
  /** Where the sensor's value at a forecast's base time is read (expected_at is interpolated from it). */
  store: Pick<ReadingStore, 'recent'>;
}

/**
 * The gateway's alerting: an AlertEvaluator on the bus that reads the interval level from the
 * current model and the last observed value from the store. Returns the stop function.
 */
export function startAlerts(o: StartAlertsOptions): () => void {
  const evaluator = new AlertEvaluator({ rules: o.rules, clock: o.clock, intervalLevel: () => o.model.info.intervalLevel });
  return wireAlerts(o.bus, evaluator, (f) => rhAtBase(o.store, f, o.model.info.stepS * 1000));
}

/**
 * The sensor's last observed value at the forecast's base time: its newest usable reading
 * (the forecaster's input rule, scheduler.ts toHistory) in the step that ends at the base time,
 * or undefined when that step has none.
 */
export function rhAtBase(store: Pick<ReadingStore, 'recent'>, f: Forecast, stepMs: number): number | undefined {
  const usable = toHistory(store.recent(f.sensorId, f.baseTimeMs - stepMs)).filter((p) => p.tMs <= f.baseTimeMs);
  return usable[usable.length - 1]?.rh;
}
