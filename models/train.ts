import { cvConformal, DEFAULT_CV_BLOCKS } from './cv-conformal.ts';
import { CONTRACT_VERSION, DEFAULT_MAX_FILL_STEPS } from './contract.ts';
import type { ModelContract } from './contract.ts';
import type { CsvSeries } from './csv.ts';
import { ModelError } from './errors.ts';
import { referenceForward } from './reference.ts';
import type { RidgeWeights } from './reference.ts';
import { gram, gramScale, selectLambda } from './ridge.ts';
import { buildSamples, toStepSeries } from './series.ts';
import type { AnchoredSamples, StepSeries } from './series.ts';

/** What the trainer is asked to do; every field has the shipped model's value as default. */
export interface TrainOptions {
  /** Resampling step, s. Default 600 (the data's native 10 min). */
  stepS?: number;
  /** Window length in steps. Default 144 (24 h: one daily cycle of the house). */
  windowSteps?: number;
  /** Horizons in s, multiples of stepS. Default every 600 s up to 21600 s (6 h, 36 outputs). */
  horizonsS?: number[];
  /** Default 3 (30 min at 600 s). */
  maxFillSteps?: number;
  /** Default 0.8. */
  intervalLevel?: number;
  /** Lambda grid, relative to mean(diag(X'X)). Default 1e-6 .. 1e4 in decades, chosen per horizon. */
  relativeLambdas?: number[];
  /** Default derived from the column and training date. */
  modelVersion?: string;
  /** Wall clock for trained_at, ms (injected for reproducible tests). Default Date.now. */
  now?: () => number;
}

export interface HorizonReport {
  horizon_s: number;
  mae: { model: number; persistence: number };
  coverage: number;
}

/** What `npm run model -- train` prints about any model kind. */
export interface TrainSummaryBase {
  model_version: string;
  training_data: string;
  training_range: string;
  steps: number;
  samples: { train: number; validation: number; test: number };
  /** Chosen lambda per horizon. */
  lambdas: number[];
  /** Measured on the test split (last 15%), never used for fitting, lambda or intervals. */
  test: HorizonReport[];
}

export interface TrainResult {
  weights: RidgeWeights;
  contract: ModelContract;
  summary: TrainSummaryBase & { lambdas_tried: { lambda: number; mae: number }[] };
}

export const DEFAULT_HORIZONS_S = Array.from({ length: 36 }, (_, i) => (i + 1) * 600);
const DEFAULT_LAMBDAS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4];
/** Chronological split: the first 70% trains, the next 15% picks lambda and the intervals, the last 15% tests. */
export const TRAIN_FRACTION = 0.7;
export const VALID_FRACTION = 0.15;

/** Trains the delta ridge model on one CSV column. Throws ModelError (DATA_INVALID / TRAINING_FAILED). */
export function trainRidge(csv: CsvSeries, opts: TrainOptions = {}): TrainResult {
  const { stepS, windowSteps, horizonsS, maxFillSteps, level, series, n, cut1, cut2 } = resolveTraining(csv, opts);
  const horizonSteps = horizonsS.map((h) => h / stepS);
  const spec = { windowSteps, horizonSteps, mode: 'delta' as const, constant: true };
  const train = buildSamples(series, { ...spec, fromAnchor: 0, targetLimit: cut1 });
  const valid = buildSamples(series, { ...spec, fromAnchor: cut1, targetLimit: cut2 });
  const test = buildSamples(series, { ...spec, fromAnchor: cut2, targetLimit: n });
  for (const [name, s, min] of [['train', train, windowSteps + 3], ['validation', valid, 20], ['test', test, 1]] as const) {
    if (s.n < min) {
      throw new ModelError('TRAINING_FAILED', `${csv.file} ${csv.column}: ${s.n} usable ${name} windows (need >= ${min}); ${n} steps of ${stepS} s are too few for a ${windowSteps}-step window and ${Math.max(...horizonSteps)}-step horizon, or gaps are too long`);
    }
  }
  const { tried, lambdas } = selectLambda(train, valid, opts.relativeLambdas ?? DEFAULT_LAMBDAS, false);
  const H = horizonsS.length;
  // Intervals from blocked-CV residuals over train + validation (cv-conformal.ts), and the
  // final weights refitted on train + validation with the chosen penalties; the test split
  // stays untouched for the report.
  const blocks = Array.from({ length: DEFAULT_CV_BLOCKS }, (_, b) =>
    buildSamples(series, { ...spec, fromAnchor: Math.floor((cut2 * b) / DEFAULT_CV_BLOCKS), targetLimit: Math.floor((cut2 * (b + 1)) / DEFAULT_CV_BLOCKS) }),
  );
  const { qLo, qHi, fullFit: fit } = cvConformal(blocks, lambdas, gramScale(gram(train, false)), level);
  const weights: RidgeWeights = {
    windowSteps,
    horizons: H,
    wRh: Float32Array.from(fit.w.subarray(0, windowSteps * H)),
    wT: Float32Array.from(fit.w.subarray(windowSteps * H, (windowSteps + 2) * H)),
    // The penalised intercept is the weight of the constant feature (row W + 2).
    b: Float32Array.from(fit.w.subarray((windowSteps + 2) * H, (windowSteps + 3) * H)),
    qLo,
    qHi,
  };
  const report = evaluateWeights(weights, test, horizonsS);
  const contract = trainedContract(csv, opts, { stepS, windowSteps, horizonsS, level, maxFillSteps }, report, 'ridge-delta', `rh deltas to the last step over ${windowSteps} steps of ${stepS} s + sin/cos local time of day; direct ridge per horizon (penalty chosen on validation, refitted on train+validation); ${level} interval from ${DEFAULT_CV_BLOCKS}-block cross-validated conformal residuals`);
  return {
    weights,
    contract,
    summary: {
      model_version: contract.modelVersion,
      training_data: contract.trainingData,
      training_range: contract.trainingRange,
      steps: n,
      samples: { train: train.n, validation: valid.n, test: test.n },
      lambdas,
      lambdas_tried: tried,
      test: report,
    },
  };
}

/** Per-horizon MAE (model vs persistence) and interval coverage of float32 weights on samples. */
export function evaluateWeights(w: RidgeWeights, s: AnchoredSamples, horizonsS: number[]): HorizonReport[] {
  const H = horizonsS.length;
  const W = w.windowSteps;
  const model = new Array<number>(H).fill(0);
  const persistence = new Array<number>(H).fill(0);
  const covered = new Array<number>(H).fill(0);
  const window = new Float64Array(W);
  for (let r = 0; r < s.n; r++) {
    const base = s.base[r] ?? 0;
    // delta-mode features hold rh - last; add the base back to get the window in %RH.
    for (let k = 0; k < W; k++) window[k] = (s.x[r * s.p + k] ?? 0) + base;
    const out = referenceForward(w, window, [s.x[r * s.p + W] ?? 0, s.x[r * s.p + W + 1] ?? 0]);
    for (let k = 0; k < H; k++) {
      const target = s.targetsRh[r * H + k] ?? 0;
      model[k] = (model[k] ?? 0) + Math.abs((out.forecast[k] ?? 0) - target);
      persistence[k] = (persistence[k] ?? 0) + Math.abs(base - target);
      if (target >= (out.lower[k] ?? 0) && target <= (out.upper[k] ?? 0)) covered[k] = (covered[k] ?? 0) + 1;
    }
  }
  return horizonsS.map((h, k) => ({
    horizon_s: h,
    mae: { model: (model[k] ?? 0) / s.n, persistence: (persistence[k] ?? 0) / s.n },
    coverage: (covered[k] ?? 0) / s.n,
  }));
}

/** Options with their defaults, checked, and the series resampled and cut into the chronological split (both trainers). */
export function resolveTraining(csv: CsvSeries, opts: TrainOptions): { stepS: number; windowSteps: number; horizonsS: number[]; maxFillSteps: number; level: number; series: StepSeries; n: number; cut1: number; cut2: number } {
  const stepS = opts.stepS ?? 600;
  const windowSteps = opts.windowSteps ?? 144;
  const horizonsS = opts.horizonsS ?? DEFAULT_HORIZONS_S;
  const maxFillSteps = opts.maxFillSteps ?? DEFAULT_MAX_FILL_STEPS;
  const level = opts.intervalLevel ?? 0.8;
  checkOptions(stepS, windowSteps, horizonsS, level);
  const series = toStepSeries(csv, stepS, maxFillSteps);
  const n = series.raw.length;
  return { stepS, windowSteps, horizonsS, maxFillSteps, level, series, n, cut1: Math.floor(n * TRAIN_FRACTION), cut2: Math.floor(n * (TRAIN_FRACTION + VALID_FRACTION)) };
}

export function checkOptions(stepS: number, windowSteps: number, horizonsS: number[], level: number): void {
  const problems: string[] = [];
  if (!Number.isInteger(stepS) || stepS <= 0) problems.push(`step_s ${stepS} is not a positive integer`);
  if (!Number.isInteger(windowSteps) || windowSteps < 2) problems.push(`window_steps ${windowSteps} is not an integer >= 2`);
  if (horizonsS.length === 0) problems.push('no horizons');
  horizonsS.forEach((h, i) => {
    if (!Number.isInteger(h / stepS) || h <= 0) problems.push(`horizon ${h} s is not a positive multiple of step_s ${stepS}`);
    if (i > 0 && h <= (horizonsS[i - 1] ?? 0)) problems.push(`horizons not increasing at ${h}`);
  });
  if (!(level > 0 && level < 1)) problems.push(`interval level ${level} is not between 0 and 1`);
  if (problems.length > 0) throw new ModelError('DATA_INVALID', `bad training options: ${problems.join('; ')}`, problems);
}

/** The trained parameters every model kind records in its contract. */
export interface TrainedShape {
  stepS: number;
  windowSteps: number;
  horizonsS: number[];
  level: number;
  maxFillSteps: number;
}

/**
 * The contract (metadata_props) of a freshly trained model: shape, training data and range,
 * and the held-out MAE and interval coverage per horizon from `report`. The default model
 * version is `<kind>-<column>-<training date>`.
 */
export function trainedContract(csv: CsvSeries, opts: TrainOptions, shape: TrainedShape, report: HorizonReport[], kind: string, features: string): ModelContract {
  const trainedAt = new Date((opts.now ?? Date.now)()).toISOString();
  return {
    contractVersion: CONTRACT_VERSION,
    modelVersion: opts.modelVersion ?? `${kind}-${csv.column}-${trainedAt.slice(0, 10)}`,
    stepS: shape.stepS,
    windowSteps: shape.windowSteps,
    horizonsS: shape.horizonsS,
    intervalLevel: shape.level,
    maxFillSteps: shape.maxFillSteps,
    trainedAt,
    trainingData: `${baseName(csv.file)} column ${csv.column}`,
    trainingRange: `${naiveIso(csv.timesMs[0] ?? 0)}..${naiveIso(csv.timesMs[csv.timesMs.length - 1] ?? 0)}`,
    validationMae: Object.fromEntries(report.map((r) => [String(r.horizon_s), round(r.mae.model)])),
    intervalCoverage: Object.fromEntries(report.map((r) => [String(r.horizon_s), round(r.coverage)])),
    features,
  };
}

export function naiveIso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
