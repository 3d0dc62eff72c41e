import type { Clock } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import { AlertEvaluator, wireAlerts, type AlertRule } from './alerts.ts';
import type { ModelInfo } from './forecaster.ts';

export interface StartAlertsOptions {
  bus: GatewayBus;
  /** Config `forecast.alerts`. */
  rules: AlertRule[];
  clock: Clock;
  /**
   * The forecaster in use: the ModelManager's holder, whose `info` is the active model's. Read
   * at every forecast, so the interval level (probability_min) follows a promotion or rollback.
   */
  model: { readonly info: Pick<ModelInfo, 'intervalLevel'> };
}

/**
 * The gateway's alerting: an AlertEvaluator on the bus that reads the interval level from the
 * current model. The value expected_at is interpolated from is the forecast's own (Forecast.baseRh,
 * the model's last input step), so the alert and the forecast agree on it. Returns the stop function.
 */
export function startAlerts(o: StartAlertsOptions): () => void {
  const evaluator = new AlertEvaluator({ rules: o.rules, clock: o.clock, intervalLevel: () => o.model.info.intervalLevel });
  return wireAlerts(o.bus, evaluator);
}
