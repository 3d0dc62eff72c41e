import type ort from 'onnxruntime-node';
import type { ModelContract } from './contract.ts';
import type { CsvSeries } from './csv.ts';
import { BandCalibrator } from './band-calibration.ts';
import { ModelError } from './errors.ts';
import { runBatch } from './ort-run.ts';
import { gram, gramScale, maeByColumn, predict, selectLambda, solveRidgePerColumn } from './ridge.ts';
import { buildSamples, lastSteps, toStepSeries, windowBatch } from './series.ts';

export interface EvalReport {
  test_rows: number;
  /** The model's interval level: the `coverage80` fields are the coverage of that band (0.8 for every model this trainer writes). */
  interval_level: number;
  /** Steps of the ridge baseline's window (24 h). */
  baseline_window_steps: number;
  horizons: {
    horizon_s: number;
    mae: { model: number; persistence: number; ridge: number };
    /** Coverage of the model's own (static) band. */
    coverage80: number;
    /** Coverage of the band the gateway publishes: the model's band calibrated online (band-calibration.ts) as truths arrive. */
    coverage80_calibrated: number;
    /** Mean band width, %RH: the model's and the calibrated one. */
    width80: { model: number; calibrated: number };
  }[];
  /** The online band calibration replayed for coverage80_calibrated (the gateway's defaults; rate at a one-step horizon, divided by sqrt(steps) beyond). */
  band_calibration: { rate: number; max_scale: number };
}

/** Fraction of the series (from the start) the baselines train on; the rest is the test set. */
const EVAL_TRAIN_FRACTION = 0.7;
/** The ridge baseline looks at the last 24 h (data README), at most this many steps (a 1-minute step). */
const BASELINE_WINDOW_S = 86_400;
const MAX_BASELINE_STEPS = 1440;
/** ONNX batch size: bounds the tensors held at once. */
const BATCH = 512;
const BASELINE_LAMBDAS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4];

/**
 * Compares a contract model with persistence and a level-ridge baseline (last 24 h of values +
 * time of day, as in the data README, whatever the model's window) on the last 30% of a series,
 * all three on the same rows. The baseline is fitted on the first 70%, with a lambda per horizon
 * chosen on the last fifth of those 70%.
 */
export async function evaluateModel(session: ort.InferenceSession, contract: ModelContract, csv: CsvSeries): Promise<EvalReport> {
  const { stepS, windowSteps: W, horizonsS } = contract;
  const horizonSteps = horizonsS.map((h) => h / stepS);
  if (horizonSteps.some((h) => !Number.isInteger(h))) {
    throw new ModelError('DATA_INVALID', `eval needs horizons that are multiples of step_s (${horizonsS.join(',')} / ${stepS})`);
  }
  const series = toStepSeries(csv, stepS, contract.maxFillSteps);
  const n = series.raw.length;
  const cut = Math.floor(n * EVAL_TRAIN_FRACTION);
  // Model and baseline are scored on the same rows: those whose longer window is usable.
  const B = Math.min(MAX_BASELINE_STEPS, Math.max(1, Math.round(BASELINE_WINDOW_S / stepS)));
  const span = Math.max(W, B);
  const spec = { windowSteps: span, horizonSteps, mode: 'level' as const };
  const rows = (fromAnchor: number, targetLimit: number) => buildSamples(series, { ...spec, fromAnchor, targetLimit });
  const testRows = rows(cut, n);
  const inner = Math.floor(cut * 0.8);
  const fitTrain = lastSteps(rows(0, inner), span, B);
  const fitValid = lastSteps(rows(inner, cut), span, B);
  const all70 = lastSteps(rows(0, cut), span, B);
  if (testRows.n === 0 || fitTrain.n <= B + 2 || fitValid.n === 0) {
    throw new ModelError('DATA_INVALID', `${csv.file} ${csv.column}: too few usable windows to evaluate (test ${testRows.n}, baseline train ${fitTrain.n}, baseline validation ${fitValid.n}); model and baseline need ${span} consecutive steps of ${stepS} s with no gap longer than max_fill_steps=${contract.maxFillSteps}, so data sampled more coarsely than ${stepS} s cannot be used`);
  }
  const test = lastSteps(testRows, span, W);
  const { lambdas } = selectLambda(fitTrain, fitValid, BASELINE_LAMBDAS);
  // Refit on all of the first 70% with each column's lambda, rescaled to the larger X'X.
  const g = gram(all70);
  const rescale = gramScale(g) / gramScale(gram(fitTrain));
  const ridge = predict(solveRidgePerColumn(g, lambdas.map((l) => l * rescale)), lastSteps(testRows, span, B));
  const H = horizonsS.length;
  const model = new Float32Array(test.n * H);
  const lower = new Float32Array(test.n * H);
  const upper = new Float32Array(test.n * H);
  for (let start = 0; start < test.n; start += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, test.n - start) }, (_, r) => start + r);
    const { rh, time } = windowBatch(test, W, rows);
    const out = await runBatch(session, W, rh, time);
    model.set(out.forecast, start * H);
    lower.set(out.lower, start * H);
    upper.set(out.upper, start * H);
  }
  const persistence = new Float64Array(test.n * H);
  for (let r = 0; r < test.n; r++) persistence.fill(test.base[r] ?? 0, r * H, (r + 1) * H);
  const y = test.targetsRh;
  const maeModel = maeByColumn(Float64Array.from(model), y, test.n, H);
  const maePersistence = maeByColumn(persistence, y, test.n, H);
  const maeRidge = maeByColumn(ridge, y, test.n, H);
  const calibrator = new BandCalibrator({ stepS });
  const calibrated = replayCalibration(calibrator, contract.intervalLevel, { anchors: test.anchors, horizonSteps, horizonsS, y, model, lower, upper });
  return {
    test_rows: test.n,
    interval_level: contract.intervalLevel,
    baseline_window_steps: B,
    horizons: horizonsS.map((h, k) => {
      const own = bandStats(test.n, H, k, y, lower, upper);
      const cal = bandStats(test.n, H, k, y, calibrated.lower, calibrated.upper);
      return {
        horizon_s: h,
        mae: { model: r4(maeModel[k] ?? 0), persistence: r4(maePersistence[k] ?? 0), ridge: r4(maeRidge[k] ?? 0) },
        coverage80: r4(own.coverage),
        coverage80_calibrated: r4(cal.coverage),
        width80: { model: r4(own.width), calibrated: r4(cal.width) },
      };
    }),
    band_calibration: { rate: calibrator.rate, max_scale: calibrator.maxScale },
  };
}

export interface ReplayInput {
  /** Step index of each test row's base, increasing. */
  anchors: number[];
  horizonSteps: number[];
  horizonsS: number[];
  y: Float64Array;
  model: Float32Array;
  lower: Float32Array;
  upper: Float32Array;
}

/**
 * The bands the gateway would have published for the test rows: rows in time order, each
 * calibrated with what was known at its base step, i.e. the outcomes of every earlier band
 * whose target step had ended by then (a 6 h band is scored 6 h after it was issued).
 */
export function replayCalibration(calibrator: BandCalibrator, level: number, t: ReplayInput): { lower: Float64Array; upper: Float64Array } {
  const H = t.horizonsS.length;
  const lower = new Float64Array(t.anchors.length * H);
  const upper = new Float64Array(t.anchors.length * H);
  // Bands waiting for their truth, in order of target step (rows are in time order, so each
  // horizon's queue is too); next[k] is the first unscored row of horizon k.
  const next = new Array<number>(H).fill(0);
  t.anchors.forEach((anchor, r) => {
    for (let k = 0; k < H; k++) {
      const hs = t.horizonSteps[k] ?? 0;
      let q = next[k] ?? 0;
      for (; q < r && (t.anchors[q] ?? 0) + hs <= anchor; q++) {
        const i = q * H + k;
        calibrator.observe('eval', t.horizonsS[k] ?? 0, { rh: t.model[i] ?? 0, lower: lower[i] ?? 0, upper: upper[i] ?? 0 }, t.y[i] ?? 0);
      }
      next[k] = q;
    }
    const points = t.horizonsS.map((horizonS, k) => ({ horizonS, rh: t.model[r * H + k] ?? 0, lower: t.lower[r * H + k] ?? 0, upper: t.upper[r * H + k] ?? 0 }));
    calibrator.calibrate('eval', level, points).forEach((p, k) => {
      lower[r * H + k] = p.lower;
      upper[r * H + k] = p.upper;
    });
  });
  return { lower, upper };
}

function bandStats(n: number, H: number, k: number, y: Float64Array, lower: ArrayLike<number>, upper: ArrayLike<number>): { coverage: number; width: number } {
  let covered = 0;
  let width = 0;
  for (let r = 0; r < n; r++) {
    const t = y[r * H + k] ?? 0;
    const lo = lower[r * H + k] ?? 0;
    const hi = upper[r * H + k] ?? 0;
    if (t >= lo && t <= hi) covered++;
    width += hi - lo;
  }
  return { coverage: covered / n, width: width / n };
}

function r4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
