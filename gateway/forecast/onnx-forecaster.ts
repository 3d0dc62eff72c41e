import type ort from 'onnxruntime-node';
import { RH_MAX, RH_MIN } from '../../firmware-bridge/messages.ts';
import type { ModelContract } from '../../models/contract.ts';
import { INPUT_NAMES, OUTPUT_NAMES } from '../../models/contract.ts';
import { ModelError } from '../../models/errors.ts';
import { readModelFile } from '../../models/onnx-file.ts';
import { openSession, runBatch } from '../../models/ort-run.ts';
import type { BatchOutput } from '../../models/ort-run.ts';
import { assembleWindow } from '../../models/resample.ts';
import type { WindowResult } from '../../models/resample.ts';
import { localSecondsOfDay, timeFeatures } from '../../models/time-features.ts';
import type { Forecast, ForecastPoint } from '../types.ts';
import type { Forecaster, HistoryPoint, ModelInfo, NoForecast } from './forecaster.ts';

export interface OnnxForecasterOptions {
  /** The newest history point may be at most this many model steps old. Default 2. */
  staleAfterSteps?: number;
  /**
   * Seconds since local midnight for a time, ms. Default: the process time zone (TZ), which
   * must be the zone of the site the model was trained for (docs/model-contract.md).
   */
  secondsOfDay?: (tMs: number) => number;
  /**
   * Widen a warming-up forecast's band to the model's validation error (floorBand). Default
   * true; false publishes the model's own band, far too narrow on a padded window
   * (bench/warmup-band compares both).
   */
  warmUpBandFloor?: boolean;
}

const DEFAULT_STALE_AFTER_STEPS = 2;

/**
 * A Forecaster backed by an ONNX model that follows docs/model-contract.md. load() refuses a
 * model that breaks the contract (ModelError MODEL_CONTRACT_VIOLATION listing every problem) or
 * whose onnxruntime session sees other names (MODEL_SESSION_MISMATCH). forecast() never
 * rejects: every failure is a NoForecast.
 */
export class OnnxForecaster implements Forecaster {
  readonly info: ModelInfo;
  private session: ort.InferenceSession | null;
  private readonly stepMs: number;
  /** Per horizon, the least half-width of a warming-up forecast's band, %RH (warmUpHalfWidths). */
  private readonly warmUpHalfWidths: number[];
  private readonly staleAfterMs: number;
  private readonly secondsOfDay: (tMs: number) => number;

  private constructor(
    path: string,
    private readonly contract: ModelContract,
    session: ort.InferenceSession,
    opts: OnnxForecasterOptions,
  ) {
    this.session = session;
    this.stepMs = contract.stepS * 1000;
    this.staleAfterMs = (opts.staleAfterSteps ?? DEFAULT_STALE_AFTER_STEPS) * this.stepMs;
    this.secondsOfDay = opts.secondsOfDay ?? localSecondsOfDay;
    this.warmUpHalfWidths = opts.warmUpBandFloor === false ? contract.horizonsS.map(() => 0) : warmUpHalfWidths(contract);
    this.info = {
      version: contract.modelVersion,
      path,
      stepS: contract.stepS,
      windowSteps: contract.windowSteps,
      horizonsS: contract.horizonsS.slice(),
      intervalLevel: contract.intervalLevel,
    };
  }

  /** Reads the contract, then opens a single-threaded session. Rejects with a ModelError. */
  static async load(path: string, opts: OnnxForecasterOptions = {}): Promise<OnnxForecaster> {
    const staleSteps = opts.staleAfterSteps ?? DEFAULT_STALE_AFTER_STEPS;
    if (!(staleSteps > 0)) throw new RangeError(`staleAfterSteps must be positive, got ${staleSteps}`);
    const file = await readModelFile(path);
    if (!file.contract) {
      throw new ModelError('MODEL_CONTRACT_VIOLATION', `model ${path} breaks the model contract (docs/model-contract.md):\n- ${file.problems.join('\n- ')}`, file.problems);
    }
    const session = await openSession(path);
    const missing = [
      ...INPUT_NAMES.filter((n) => !session.inputNames.includes(n)).map((n) => `input "${n}" not seen by onnxruntime (it sees ${session.inputNames.join(', ')})`),
      ...OUTPUT_NAMES.filter((n) => !session.outputNames.includes(n)).map((n) => `output "${n}" not seen by onnxruntime (it sees ${session.outputNames.join(', ')})`),
    ];
    if (missing.length > 0) {
      await session.release();
      throw new ModelError('MODEL_SESSION_MISMATCH', `model ${path}: ${missing.join('; ')}`, missing);
    }
    return new OnnxForecaster(path, file.contract, session, opts);
  }

  async forecast(sensorId: string, history: HistoryPoint[], nowMs: number): Promise<Forecast | NoForecast> {
    const refuse = (reason: NoForecast['reason'], detail: string): NoForecast => ({ sensorId, reason, detail });
    const session = this.session;
    if (!session) return refuse('model_error', 'forecaster is closed');
    if (history.length === 0) return refuse('no_history', 'no readings yet');
    const stale = this.staleness(history, nowMs);
    if (stale) return refuse(stale.reason, stale.detail);
    const { lastStepStartMs, partial, window } = this.window(history, nowMs);
    if (!window.ok) return refuse(window.reason, window.detail);
    const [sin, cos] = timeFeatures(this.secondsOfDay(lastStepStartMs));
    let out: BatchOutput;
    try {
      out = await runBatch(session, this.contract.windowSteps, Float32Array.from(window.values), Float32Array.of(sin, cos));
    } catch (err) {
      return refuse('model_error', err instanceof Error ? err.message : String(err));
    }
    const points = this.points(out);
    if (typeof points === 'string') return refuse('invalid_output', points);
    const warmingUp = partial || window.padded > 0;
    return {
      sensorId,
      issuedAtMs: nowMs,
      baseTimeMs: lastStepStartMs + this.stepMs,
      baseRh: window.values[window.values.length - 1],
      modelVersion: this.contract.modelVersion,
      intervalLevel: this.contract.intervalLevel,
      points: warmingUp ? floorBand(points, this.warmUpHalfWidths, window.padded / this.contract.windowSteps) : points,
      warmingUp,
    };
  }

  /**
   * Why the newest usable point is too old, or null. Readings still arriving but all flagged
   * (faulty points) make the sensor faulty, not stale: the fix is the sensor, not its link.
   */
  private staleness(history: HistoryPoint[], nowMs: number): { reason: NoForecast['reason']; detail: string } | null {
    let usable = -Infinity;
    let any = -Infinity;
    for (const p of history) {
      any = Math.max(any, p.tMs);
      if (!p.faulty) usable = Math.max(usable, p.tMs);
    }
    if (nowMs - usable <= this.staleAfterMs) return null;
    const limit = `${this.staleAfterMs / 1000} s (${this.staleAfterMs / this.stepMs} steps)`;
    const age = (tMs: number): string => `${Math.round((nowMs - tMs) / 1000)} s`;
    if (nowMs - any <= this.staleAfterMs) {
      const last = usable === -Infinity ? 'no usable reading in the model window' : `the newest usable one is ${age(usable)} old`;
      return { reason: 'faulty_readings', detail: `readings arrive (newest ${age(any)} old) but every one of the last ${limit} is flagged unusable (out_of_range, sensor_error, stuck or spike); ${last}` };
    }
    if (usable === -Infinity) return { reason: 'no_history', detail: 'no usable reading in the model window' };
    return { reason: 'stale', detail: `newest reading is ${age(usable)} old, more than ${limit}` };
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = null;
    await session?.release();
  }

  /**
   * The window ends with the last completed step. A fresh sensor whose readings all lie in the
   * step in progress forecasts from that partial step (warming up) instead of waiting up to a
   * whole step for its first forecast.
   */
  private window(history: HistoryPoint[], nowMs: number): { lastStepStartMs: number; partial: boolean; window: WindowResult } {
    const currentStartMs = Math.floor(nowMs / this.stepMs) * this.stepMs;
    const req = { stepS: this.contract.stepS, windowSteps: this.contract.windowSteps, maxFillSteps: this.contract.maxFillSteps };
    const completed = assembleWindow(history, { ...req, lastStepStartMs: currentStartMs - this.stepMs });
    if (completed.ok || completed.reason !== 'no_history') return { lastStepStartMs: currentStartMs - this.stepMs, partial: false, window: completed };
    return { lastStepStartMs: currentStartMs, partial: true, window: assembleWindow(history, { ...req, lastStepStartMs: currentStartMs }) };
  }

  /** Forecast points, or a description of why the output is unusable. */
  private points(out: BatchOutput): ForecastPoint[] | string {
    const H = this.contract.horizonsS.length;
    for (const [name, values] of [['rh_forecast', out.forecast], ['rh_lower', out.lower], ['rh_upper', out.upper]] as const) {
      if (values.length !== H) return `${name} has ${values.length} values, expected ${H}`;
      const bad = values.findIndex((v) => !(v >= RH_MIN && v <= RH_MAX));
      if (bad >= 0) return `${name}[${bad}] = ${values[bad]} is not a humidity in ${RH_MIN}..${RH_MAX} %RH`;
    }
    const points: ForecastPoint[] = [];
    for (let k = 0; k < H; k++) {
      const rh = out.forecast[k] ?? NaN;
      const lower = out.lower[k] ?? NaN;
      const upper = out.upper[k] ?? NaN;
      // float32 rounding can put a bound a hair past the point forecast; more than that is a broken model.
      if (lower > rh + 1e-3 || upper < rh - 1e-3) return `interval [${lower}, ${upper}] does not contain the forecast ${rh} at horizon ${this.contract.horizonsS[k]} s`;
      points.push({ horizonS: this.contract.horizonsS[k] ?? 0, rh, lower: Math.min(lower, rh), upper: Math.max(upper, rh) });
    }
    return points;
  }
}

/**
 * The least half-width, per horizon, of the band of a forecast made from a padded window
 * (warming up, or after a long gap): the model's validation MAE at the horizon (metadata
 * `validation_mae`) times ln(1 / (1 - interval_level)), the half-width of the central
 * interval_level interval of a Laplace error with that MAE (1.61 x MAE at 0.8; a normal error
 * gives 1.61 too). A padded window is flat where the sensor has no history, so the model reads
 * no volatility from it and issues a band far too narrow: with the shipped model, a sensor one
 * step old got an 80% band that held 28-32% of truths (docs/forecast.md). This is the band the
 * model's validation errors justify when nothing is known yet about the sensor's volatility.
 */
export function warmUpHalfWidths(contract: Pick<ModelContract, 'horizonsS' | 'validationMae' | 'intervalLevel'>): number[] {
  const k = Math.log(1 / (1 - contract.intervalLevel));
  return contract.horizonsS.map((h) => k * (contract.validationMae[String(h)] ?? 0));
}

/**
 * Each point's band widened to at least rh +- share x halfWidths[k], within 0..100 %RH; never
 * narrowed. `share` is the padded share of the window (0..1): the floor fades as the sensor's
 * own history fills the window and the model's band becomes its own again.
 */
export function floorBand(points: readonly ForecastPoint[], halfWidths: readonly number[], share: number): ForecastPoint[] {
  const f = Math.min(1, Math.max(0, share));
  return points.map((p, k) => {
    const hw = f * (halfWidths[k] ?? 0);
    return { ...p, lower: Math.min(p.lower, Math.max(RH_MIN, p.rh - hw)), upper: Math.max(p.upper, Math.min(RH_MAX, p.rh + hw)) };
  });
}
