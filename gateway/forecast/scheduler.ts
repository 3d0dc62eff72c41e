import type { Clock, TimerHandle } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import type { ReadingStore, StepAggregate } from '../store/store.ts';
import type { Forecast, QualityFlag } from '../types.ts';
import type { Forecaster, HistoryPoint, NoForecast } from './forecaster.ts';
import { FAULTY_FLAGS } from '../../models/resample.ts';

/** Flags that make a reading unusable as model input (and as the truth it is scored against): the resampler's. */
export const UNUSABLE_FLAGS: readonly QualityFlag[] = FAULTY_FLAGS;

export interface ForecastSchedulerOptions {
  store: ReadingStore;
  forecaster: Forecaster;
  bus: GatewayBus;
  clock: Clock;
  /** How often to look for sensors with a new completed step, in ms. */
  checkIntervalMs: number;
  /** False while the wall clock is not trusted: no forecast then (reason clock_untrusted). Default always trusted. */
  clockTrusted?: () => boolean;
  /** Applied to every forecast before it is kept and emitted, with the model's interval level: the online band calibration (ForecastLog.calibrate). Default: none. */
  calibrate?: (f: Forecast, intervalLevel: number) => Forecast;
  onError: (err: unknown) => void;
}

/**
 * Forecasts each sensor once per completed model step (and once as soon as a sensor has its
 * first reading). At most one forecast cycle runs at a time, so a slow model delays the next
 * cycle instead of piling up work. The model's input is read from the store as one aggregate per
 * step (ReadingStore.stepAggregates), so the whole window reaches the model whatever the reading
 * rate (24 h at 1 reading/s is 86 400 readings, 144 steps of 10 min). A refusal withdraws the
 * sensor's kept forecast (latestForecast() is then null and latestNoForecast() says why) until a
 * later cycle forecasts again.
 */
export class ForecastScheduler {
  private timer: TimerHandle | null = null;
  private running = false;
  private readonly lastBaseStep = new Map<string, number>();
  private readonly latest = new Map<string, Forecast>();
  private readonly latestRefusal = new Map<string, NoForecast>();
  /** Work deferred to the end of the running cycle (model swaps); bounded by its callers (one swap at a time). */
  private readonly afterCycle: Array<() => void> = [];

  constructor(private readonly opts: ForecastSchedulerOptions) {}

  start(): void {
    this.timer = this.opts.clock.setInterval(() => void this.cycle(), this.opts.checkIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) this.opts.clock.clearInterval(this.timer);
    this.timer = null;
  }

  /** The sensor's newest forecast; null before the first and while the latest cycle refused (latestNoForecast says why). */
  latestForecast(sensorId: string): Forecast | null {
    return this.latest.get(sensorId) ?? null;
  }

  latestNoForecast(sensorId: string): NoForecast | null {
    return this.latestRefusal.get(sensorId) ?? null;
  }

  /**
   * Runs `fn` between two cycles: at once when no cycle is running, else right when the running
   * one ends, before another can start. A model swap goes through here, so every sensor of a
   * cycle is forecast by the same model and no cycle is skipped. Rejects with what `fn` threw.
   */
  betweenCycles(fn: () => void): Promise<void> {
    if (!this.running) {
      fn();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.afterCycle.push(() => {
        try {
          fn();
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      });
    });
  }

  /** One pass over every sensor; resolves when every due forecast is done. Never rejects. */
  async cycle(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const sensorId of this.opts.store.sensors()) await this.forecastIfDue(sensorId);
    } catch (err) {
      this.opts.onError(err);
    } finally {
      this.running = false;
      for (const run of this.afterCycle.splice(0)) run();
    }
  }

  private async forecastIfDue(sensorId: string): Promise<void> {
    const { stepS, windowSteps } = this.opts.forecaster.info;
    const stepMs = stepS * 1000;
    const now = this.opts.clock.now();
    const currentStep = Math.floor(now / stepMs);
    if (this.lastBaseStep.get(sensorId) === currentStep) return;
    // The window's steps and the step in progress (the resampler's interpolation anchor, or the
    // partial first step of a new sensor); nothing before the window reaches the model.
    const range = { fromMs: (currentStep - windowSteps) * stepMs, toMs: (currentStep + 1) * stepMs };
    const newest = this.opts.store.recent(sensorId, range.fromMs, 1);
    const made = refusal(sensorId, newest, this.opts.clockTrusted?.() ?? true) ?? (await this.opts.forecaster.forecast(sensorId, this.history(sensorId, { ...range, stepMs }), now));
    if ('points' in made) {
      const calibrated = this.opts.calibrate?.(made, made.intervalLevel ?? this.opts.forecaster.info.intervalLevel) ?? made;
      const result = made.warmingUp ? keepFloor(made, calibrated) : calibrated;
      // Done for this step. A refusal is retried at the next check instead: the reason
      // (no history yet, a gap) may clear long before the next step completes.
      this.lastBaseStep.set(sensorId, currentStep);
      this.latest.set(sensorId, result);
      this.latestRefusal.delete(sensorId);
      this.opts.bus.emit('forecast', result);
      return;
    }
    const previous = this.latestRefusal.get(sensorId);
    this.latestRefusal.set(sensorId, made);
    // The kept forecast is from an earlier step, and the inputs it would be renewed from are now
    // refused: withdraw it, so no one is served a stale forecast while the reason is given.
    this.latest.delete(sensorId);
    if (previous?.reason !== made.reason) this.opts.bus.emit('noForecast', made);
  }

  /** One point per step of [fromMs, toMs) from the store's aggregates: bounded by steps, not readings. */
  private history(sensorId: string, range: { fromMs: number; toMs: number; stepMs: number }): HistoryPoint[] {
    return historyFromSteps(this.opts.store.stepAggregates(sensorId, { ...range, unusableFlags: UNUSABLE_FLAGS }));
  }
}

/** Inputs the gateway refuses before the model sees them (the forecaster checks gaps and staleness). */
function refusal(sensorId: string, readings: { quality: string[] }[], clockTrusted: boolean): NoForecast | null {
  if (!clockTrusted) return { sensorId, reason: 'clock_untrusted', detail: 'the wall clock is not trusted yet (no time sync); forecasts resume once it is' };
  const newest = readings[readings.length - 1];
  if (newest?.quality.includes('stuck')) return { sensorId, reason: 'stuck_sensor', detail: "the newest reading is flagged 'stuck': the sensor repeats one value" };
  return null;
}

/**
 * The forecaster's history from per-step aggregates: per step, the mean of its usable readings at
 * the time of its newest usable one (the resampler's step mean is then that mean, and staleness is
 * measured from the same reading), and a faulty marker at the time of a newer unusable reading,
 * which tells a sensor sending only flagged readings from a silent one.
 */
export function historyFromSteps(steps: readonly StepAggregate[]): HistoryPoint[] {
  const out: HistoryPoint[] = [];
  for (const s of steps) {
    if (s.meanRh !== null && s.newestUsableMs !== null) out.push({ tMs: s.newestUsableMs, rh: s.meanRh });
    if (s.newestUsableMs === null || s.newestMs > s.newestUsableMs) out.push({ tMs: s.newestMs, rh: Number.NaN, faulty: true });
  }
  return out;
}

/**
 * A warming-up forecast's band is the floor's (onnx-forecaster.ts floorBand), which the site's
 * calibration may widen but not narrow: a factor learned on a calm site's full windows (below 1)
 * would otherwise cut the floor of a sensor back from an outage several times over.
 */
function keepFloor(made: Forecast, calibrated: Forecast): Forecast {
  return {
    ...calibrated,
    points: calibrated.points.map((p, i) => {
      const floor = made.points[i];
      return floor ? { ...p, lower: Math.min(p.lower, floor.lower), upper: Math.max(p.upper, floor.upper) } : p;
    }),
  };
}
