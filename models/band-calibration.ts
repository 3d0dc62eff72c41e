import { RH_MAX, RH_MIN } from '../firmware-bridge/messages.ts';

/**
 * Online calibration of a forecast's central interval, one scale per half-band (adaptive
 * conformal inference: Gibbs & Candès, "Adaptive conformal inference under distribution shift",
 * NeurIPS 2021, in the quantile-tracking form of Angelopoulos et al., "Conformal PID control",
 * 2023).
 *
 * A model's interval is calibrated on its training data; on a site whose weather or use
 * differs (a winter the model never saw, a sensor in a different room) it covers more or less
 * than it says. The gateway therefore multiplies each half of the model's band by a factor per
 * (sensor, model, horizon) and moves the factor's logarithm after every scored forecast:
 *
 *   log s_upper += rate_h * (1[truth > upper] - tail)      tail = (1 - level) / 2
 *   log s_lower += rate_h * (1[truth < lower] - tail)      rate_h = rate / sqrt(h / step)
 *
 * where upper / lower are the bounds that were issued (already scaled). A miss widens its half,
 * a hit narrows it a little; each half settles where it is missed `tail` of the time, so the
 * band covers `level` and each bound is the quantile the alert rule reads it as. The updates
 * telescope: over N scored forecasts of a horizon the miss rate of a half differs from `tail`
 * by at most |log s_end - log s_start| / (rate_h * N), whatever the data does, as long as the
 * factor stays inside [1 / maxScale, maxScale] (docs/model-contract.md, "Intervals on the
 * gateway").
 *
 * Why rate_h shrinks with the horizon: a band h ahead is scored h late, and its misses come in
 * runs (one weather change misses a whole day's 6 h bands), so a long horizon gets about h / step
 * times fewer independent outcomes than its update count says; a full-size step would swing
 * its band wide after each run (MODEL_CARD.md has the rates tried).
 *
 * The same class runs on the gateway (gateway/forecast/forecast-log.ts) and in `npm run model
 * -- eval`, which replays it over the test period, so the coverage eval reports for the
 * calibrated band is the coverage the gateway delivers.
 */

export interface BandCalibrationOptions {
  /** The model step, s: horizons are counted in steps for the rate. */
  stepS: number;
  /**
   * Step of the log-scale update at a one-step horizon; a horizon of h steps uses rate /
   * sqrt(h). Default 0.05: at level 0.8 a miss widens a 10-minute band's half by 4.6 %, a hit
   * narrows it by 0.5 %; at 6 h (36 steps) the steps are a sixth of that.
   */
  rate?: number;
  /** Largest factor either half may be scaled by; the smallest is its inverse. Default 10. */
  maxScale?: number;
}

export const DEFAULT_BAND_RATE = 0.05;
export const DEFAULT_BAND_MAX_SCALE = 10;

/** A band as issued: point forecast and central interval, %RH. */
export interface Band {
  rh: number;
  lower: number;
  upper: number;
}

/** The calibration state of one (stream, horizon): what persists across restarts. */
export interface BandState {
  stream: string;
  horizonS: number;
  /** Central level the band is calibrated to (the model's interval_level). */
  level: number;
  logLower: number;
  logUpper: number;
  /** Scored forecasts that moved this state. */
  updates: number;
}

export interface BandScale {
  lower: number;
  upper: number;
  updates: number;
}

export class BandCalibrator {
  readonly rate: number;
  readonly maxScale: number;
  readonly stepS: number;
  private readonly states = new Map<string, BandState>();
  private readonly limit: number;

  constructor(opts: BandCalibrationOptions) {
    this.stepS = opts.stepS;
    this.rate = opts.rate ?? DEFAULT_BAND_RATE;
    if (!(this.stepS > 0)) throw new RangeError(`band calibration stepS must be positive, got ${this.stepS}`);
    this.maxScale = opts.maxScale ?? DEFAULT_BAND_MAX_SCALE;
    if (!(this.rate > 0 && this.rate <= 1)) throw new RangeError(`band calibration rate must be in (0, 1], got ${this.rate}`);
    if (!(this.maxScale >= 1)) throw new RangeError(`band calibration maxScale must be at least 1, got ${this.maxScale}`);
    this.limit = Math.log(this.maxScale);
  }

  /**
   * The band the model issued, with each half scaled by the stream's current factor for its
   * horizon, clamped to 0..100 %RH. The first call for a (stream, horizon) starts its state
   * at factor 1 with `level`, so observe() knows what the band claims.
   */
  calibrate<P extends Band & { horizonS: number }>(stream: string, level: number, points: readonly P[]): P[] {
    return points.map((p) => {
      const s = this.stateFor(stream, p.horizonS, level);
      const lower = p.rh - Math.exp(s.logLower) * Math.max(0, p.rh - p.lower);
      const upper = p.rh + Math.exp(s.logUpper) * Math.max(0, p.upper - p.rh);
      return { ...p, lower: Math.max(RH_MIN, lower), upper: Math.min(RH_MAX, upper) };
    });
  }

  /**
   * Moves the factors of (stream, horizon) by the outcome of one issued band. Returns the new
   * state, or null (nothing changed) when the stream never had a band calibrated for that
   * horizon, e.g. forecasts issued before calibration was switched on.
   */
  observe(stream: string, horizonS: number, issued: Band, truth: number): BandState | null {
    const s = this.states.get(key(stream, horizonS));
    if (!s || !Number.isFinite(truth)) return null;
    const tail = (1 - s.level) / 2;
    const rate = this.rateAt(horizonS);
    s.logUpper = this.clamp(s.logUpper + rate * ((truth > issued.upper ? 1 : 0) - tail));
    s.logLower = this.clamp(s.logLower + rate * ((truth < issued.lower ? 1 : 0) - tail));
    s.updates++;
    return { ...s };
  }

  /** The update step at a horizon: rate / sqrt(horizon in steps), the full rate up to one step. */
  rateAt(horizonS: number): number {
    return this.rate / Math.sqrt(Math.max(1, horizonS / this.stepS));
  }

  scale(stream: string, horizonS: number): BandScale | null {
    const s = this.states.get(key(stream, horizonS));
    return s ? { lower: Math.exp(s.logLower), upper: Math.exp(s.logUpper), updates: s.updates } : null;
  }

  /** Drops every state of a stream (a model no longer used on a sensor). */
  forget(stream: string): void {
    for (const [k, s] of this.states) if (s.stream === stream) this.states.delete(k);
  }

  /** Restores saved states (clamped to this calibrator's maxScale). */
  load(states: Iterable<BandState>): void {
    for (const s of states) {
      this.states.set(key(s.stream, s.horizonS), { ...s, logLower: this.clamp(s.logLower), logUpper: this.clamp(s.logUpper) });
    }
  }

  private stateFor(stream: string, horizonS: number, level: number): BandState {
    const k = key(stream, horizonS);
    let s = this.states.get(k);
    if (!s) {
      s = { stream, horizonS, level, logLower: 0, logUpper: 0, updates: 0 };
      this.states.set(k, s);
    }
    s.level = level;
    return s;
  }

  private clamp(v: number): number {
    return Math.min(this.limit, Math.max(-this.limit, v));
  }
}

function key(stream: string, horizonS: number): string {
  return `${stream}\u0000${horizonS}`;
}
