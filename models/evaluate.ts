import type ort from 'onnxruntime-node';
import type { ModelContract } from './contract.ts';
import type { CsvSeries } from './csv.ts';
import { ModelError } from './errors.ts';
import { runBatch } from './ort-run.ts';
import { gram, gramScale, maeByColumn, predict, selectLambda, solveRidgePerColumn } from './ridge.ts';
import { buildSamples, toStepSeries } from './series.ts';

export interface EvalReport {
  test_rows: number;
  horizons: {
    horizon_s: number;
    mae: { model: number; persistence: number; ridge: number };
    coverage80: number;
  }[];
}

/** Fraction of the series (from the start) the baselines train on; the rest is the test set. */
const EVAL_TRAIN_FRACTION = 0.7;
/** ONNX batch size: bounds the tensors held at once. */
const BATCH = 512;
const BASELINE_LAMBDAS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4];

/**
 * Compares a contract model with persistence and a level-ridge baseline (last 24 h of values +
 * time of day, as in the data README) on the last 30% of a series. The baseline is fitted on
 * the first 70%, with a lambda per horizon chosen on the last fifth of those 70%.
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
  const spec = { windowSteps: W, horizonSteps, mode: 'level' as const };
  const test = buildSamples(series, { ...spec, fromAnchor: cut, targetLimit: n });
  const inner = Math.floor(cut * 0.8);
  const fitTrain = buildSamples(series, { ...spec, fromAnchor: 0, targetLimit: inner });
  const fitValid = buildSamples(series, { ...spec, fromAnchor: inner, targetLimit: cut });
  const all70 = buildSamples(series, { ...spec, fromAnchor: 0, targetLimit: cut });
  if (test.n === 0 || fitTrain.n <= W + 2 || fitValid.n === 0) {
    throw new ModelError('DATA_INVALID', `${csv.file} ${csv.column}: too few usable windows to evaluate (test ${test.n}, baseline train ${fitTrain.n}, baseline validation ${fitValid.n}); the model needs ${W} consecutive steps of ${stepS} s with no gap longer than max_fill_steps=${contract.maxFillSteps}, so data sampled more coarsely than ${stepS} s cannot be used`);
  }
  const { lambdas } = selectLambda(fitTrain, fitValid, BASELINE_LAMBDAS);
  // Refit on all of the first 70% with each column's lambda, rescaled to the larger X'X.
  const g = gram(all70);
  const rescale = gramScale(g) / gramScale(gram(fitTrain));
  const ridge = predict(solveRidgePerColumn(g, lambdas.map((l) => l * rescale)), test);
  const H = horizonsS.length;
  const model = new Float32Array(test.n * H);
  const lower = new Float32Array(test.n * H);
  const upper = new Float32Array(test.n * H);
  for (let start = 0; start < test.n; start += BATCH) {
    const rows = Math.min(BATCH, test.n - start);
    const rh = new Float32Array(rows * W);
    const time = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      const row = (start + r) * test.p;
      rh.set(test.x.subarray(row, row + W), r * W);
      time[r * 2] = test.x[row + W] ?? 0;
      time[r * 2 + 1] = test.x[row + W + 1] ?? 0;
    }
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
  return {
    test_rows: test.n,
    horizons: horizonsS.map((h, k) => {
      let covered = 0;
      for (let r = 0; r < test.n; r++) {
        const t = y[r * H + k] ?? 0;
        if (t >= (lower[r * H + k] ?? 0) && t <= (upper[r * H + k] ?? 0)) covered++;
      }
      return {
        horizon_s: h,
        mae: { model: r4(maeModel[k] ?? 0), persistence: r4(maePersistence[k] ?? 0), ridge: r4(maeRidge[k] ?? 0) },
        coverage80: r4(covered / test.n),
      };
    }),
  };
}

function r4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
