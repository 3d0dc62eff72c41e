import { conformalOffsets } from './conformal.ts';
import type { ModelContract } from './contract.ts';
import type { CsvSeries } from './csv.ts';
import { ModelError } from './errors.ts';
import { boostedHorizons, featureReferenceForward, interpolationMatrix } from './feature-ridge.ts';
import type { BoostStage, FeatureRidgeWeights, NeuralStage } from './feature-ridge.ts';
import { DEFAULT_GBM_OPTIONS, fitGbmL1 } from './gbm.ts';
import { predictMlp } from './mlp.ts';
import type { GbmOptions } from './gbm.ts';
import { featureSamples, fitStandardiser, rawFeatures } from './feature-samples.ts';
import type { FeatureSamples, Standardiser } from './feature-samples.ts';
import { computeFeatures, featureLayout, volatilityIndex } from './feature-set.ts';
import type { FeatureLayout } from './feature-set.ts';
import { gram, gramScale, predict, selectLambda, solveRidgePerColumn } from './ridge.ts';
import type { Gram, RidgeFit } from './ridge.ts';
import { buildSamples } from './series.ts';
import type { AnchoredSamples } from './series.ts';
import { resolveTraining, trainedContract } from './train.ts';
import { chooseMix, chooseNeuralAlpha, DEFAULT_NEURAL_OPTIONS, fitNeural, mixForecast } from './train-neural.ts';
import type { NeuralOptions } from './train-neural.ts';
import type { HorizonReport, TrainOptions, TrainSummaryBase } from './train.ts';

/**
 * Trains the feature-ridge model (feature-set.ts, feature-ridge.ts). Same chronological split
 * as the delta ridge (train.ts): 70% fits, the next 15% picks the penalty and the shrinkage,
 * the last 15% is reported on (then added to the final refit, see below).
 *
 * Shrinkage toward persistence: per horizon, y = last + alpha_h * ridge_delta_h with alpha_h in
 * [0, 1] chosen on the validation split. alpha = 0 is persistence exactly, so on validation the
 * model is never worse than persistence at any horizon (with the weights fitted on train only;
 * the written weights are refitted on all splits with the same penalties and alphas).
 *
 * Intervals: split-conformal quantiles of residual / s, s = vol + scaleFloor (vol = the window's
 * RMS step change over the last 6 h), from 5-block cross-validated residuals over train +
 * validation, so the band widens when the recent signal is volatile. scaleFloor is 0.3 x the
 * median training vol, so a flat window still gets a band.
 */

/** Penalty grid relative to mean(diag X'X) of the standardised features, chosen per horizon. */
const LAMBDAS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3, 10, 100];
/** Shrinkage grid: 0 (persistence) to 1 (the ridge as fitted) in steps of 0.05. */
const ALPHAS = Array.from({ length: 21 }, (_, i) => i / 20);
/** Chronological cross-validation blocks for the intervals (as cv-conformal.ts). */
const CV_BLOCKS = 5;
/**
 * The interval scale's constant part as a fraction of the median training volatility. 0.3 was
 * picked by comparing 1, 0.3 and 0.1 on the eval of all three shared series (MODEL_CARD.md):
 * 1 under-covered the volatile RH_6 test period (72-76%), 0.1 over-covered it (84-86%).
 */
const SCALE_FLOOR_FRACTION = 0.3;
/** Lower bound of the interval scale's constant part, %RH. */
const MIN_SCALE_FLOOR = 0.01;

export interface FeatureTrainResult {
  weights: FeatureRidgeWeights;
  contract: ModelContract;
  summary: TrainSummaryBase & {
    /** Shrinkage toward persistence per horizon (1 = none). */
    alphas: number[];
    /** Validation MAE per horizon: model (train-only fit, shrunk) and persistence. */
    validation: { horizon_s: number; model: number; persistence: number }[];
    /** The ensemble's neural member: penalty chosen, penalties tried, its share per horizon. */
    neural?: { alpha: number; alphas_tried: { alpha: number; mae: number }[]; hidden: number; seeds: number; mean_epochs: number; mix: number[] };
  };
}

/** The model kinds the trainers make, the shipped one first (`ridge` is train.ts's delta ridge). */
export const MODEL_KINDS = ['ensemble', 'boosted', 'feature', 'ridge'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The stages a feature kind trains: `boosted` adds the trees, `ensemble` the trees and the network (with `neural`'s options). */
export function kindStages(kind: Exclude<ModelKind, 'ridge'>, neural: true | Partial<NeuralOptions> = true): BoostOptions {
  return { boost: kind === 'boosted' || kind === 'ensemble', neural: kind === 'ensemble' && neural };
}

export interface BoostOptions {
  /** Add the boosted-tree stage. */
  boost?: boolean;
  gbm?: Partial<GbmOptions>;
  /** With boost: average a neural network in per horizon (the shipped kind, "ensemble"). */
  neural?: boolean | Partial<NeuralOptions>;
}

export function trainFeatureRidge(csv: CsvSeries, opts: TrainOptions & BoostOptions = {}): FeatureTrainResult {
  const { stepS, windowSteps, horizonsS, maxFillSteps, level, series, n, cut1, cut2 } = resolveTraining(csv, opts);
  const layout = layoutOrThrow(stepS, windowSteps);
  const samples = (from: number, to: number): AnchoredSamples => buildSamples(series, { windowSteps, horizonSteps: horizonsS.map((h) => h / stepS), mode: 'level', fromAnchor: from, targetLimit: to });
  const trainL = samples(0, cut1);
  const validL = samples(cut1, cut2);
  const testL = samples(cut2, n);
  for (const [name, s, min] of [['train', trainL, layout.total + 3], ['validation', validL, 20], ['test', testL, 1]] as const) {
    if (s.n < min) throw new ModelError('TRAINING_FAILED', `${csv.file} ${csv.column}: ${s.n} usable ${name} windows (need >= ${min}); ${n} steps of ${stepS} s are too few for a ${windowSteps}-step window and ${Math.max(...horizonsS) / stepS}-step horizon, or gaps are too long`);
  }
  const trainRaw = rawFeatures(layout, trainL);
  const std = fitStandardiser(trainRaw);
  const train = featureSamples(layout, trainL, std, trainRaw);
  const valid = featureSamples(layout, validL, std);
  const sel = selectLambda(train, valid, LAMBDAS, false);
  const { alphas, validation } = chooseAlphas(sel.fit, valid, horizonsS);
  // Floored so a window of a stuck sensor (vol 0) still divides by a positive scale.
  const scaleFloor = Math.max(MIN_SCALE_FLOOR, SCALE_FLOOR_FRACTION * median(train.vol));
  if (opts.boost) return trainBoosted({ csv, opts, layout, std, samples, trainL, validL, testL, train, n, cut2, stepS, windowSteps, horizonsS, level, maxFillSteps, lambdas: sel.lambdas, alphas, validation, scaleFloor });
  const blocks = Array.from({ length: CV_BLOCKS }, (_, b) => featureSamples(layout, samples(Math.floor((cut2 * b) / CV_BLOCKS), Math.floor((cut2 * (b + 1)) / CV_BLOCKS)), std));
  const cv = cvScaledConformal(blocks, sel.lambdas, gramScale(gram(train, false)), alphas, scaleFloor, level);
  // The report scores the weights fitted on train + validation; the shipped weights are then
  // refitted with the test split added (same penalties, alphas and intervals), because the
  // most recent weeks matter most for a seasonal series and the report already measured the
  // procedure on data it had not seen.
  const report = evaluateFeatureWeights(foldWeights(layout, stepS, std, cv.fullFit, alphas, cv.qLo, cv.qHi, scaleFloor), testL, horizonsS);
  const testF = featureSamples(layout, testL, std);
  const finalFit = cv.refit(testF);
  const weights = foldWeights(layout, stepS, std, finalFit, alphas, cv.qLo, cv.qHi, scaleFloor);
  const contract = trainedContract(csv, opts, { stepS, windowSteps, horizonsS, level, maxFillSteps }, report, 'feature-ridge', `${layout.total} features computed in the graph from the ${windowSteps}-step window and time of day (multi-scale trend means, recent slope, first window steps, level, 6 h volatility, time-of-day interactions; models/feature-set.ts); direct ridge per horizon shrunk toward persistence (penalty and shrinkage chosen on validation, refitted on train+validation); ${level} interval from ${CV_BLOCKS}-block cross-validated conformal residuals scaled by recent volatility`);
  return featureResult(weights, contract, { steps: n, samples: { train: trainL.n, validation: validL.n, test: testL.n }, lambdas: sel.lambdas, alphas, validation, test: report });
}

type SummaryParts = Omit<FeatureTrainResult['summary'], 'model_version' | 'training_data' | 'training_range'>;

function featureResult(weights: FeatureRidgeWeights, contract: ModelContract, parts: SummaryParts): FeatureTrainResult {
  return { weights, contract, summary: { model_version: contract.modelVersion, training_data: contract.trainingData, training_range: contract.trainingRange, ...parts } };
}

interface BoostInputs {
  csv: CsvSeries;
  opts: TrainOptions & BoostOptions;
  layout: FeatureLayout;
  std: Standardiser;
  samples: (from: number, to: number) => AnchoredSamples;
  trainL: AnchoredSamples;
  validL: AnchoredSamples;
  testL: AnchoredSamples;
  train: FeatureSamples;
  n: number;
  cut2: number;
  stepS: number;
  windowSteps: number;
  horizonsS: number[];
  level: number;
  maxFillSteps: number;
  lambdas: number[];
  alphas: number[];
  validation: FeatureTrainResult['summary']['validation'];
  scaleFloor: number;
}

/**
 * The boosted model: the shrunk feature ridge, plus absolute-error boosted trees (gbm.ts) fitted
 * to its residuals at a few horizons (boostedHorizons) and interpolated to the rest. The
 * ensemble (opts.neural) averages it per horizon with a small neural network (train-neural.ts).
 *   0. ensemble: the network's penalty and its share per horizon, from members fitted on train
 *      and scored on validation;
 *   1. interval offsets: conformal quantiles of residual / (vol + floor) over train + validation,
 *      each of 5 chronological blocks predicted by the members fitted on the other four;
 *   2. the members refitted on train + validation, scored on test (15%): the report;
 *   3. refitted on everything with the same penalties, shrinkage, share and offsets: the shipped
 *      weights.
 */
function trainBoosted(b: BoostInputs): FeatureTrainResult {
  const { layout, std, horizonsS, alphas, scaleFloor, stepS } = b;
  const gbmOptions = { ...DEFAULT_GBM_OPTIONS, ...b.opts.gbm };
  const neuralOptions = b.opts.neural ? { ...DEFAULT_NEURAL_OPTIONS, ...(b.opts.neural === true ? {} : b.opts.neural) } : undefined;
  const boosted = boostedHorizons(horizonsS);
  const interp = interpolationMatrix(horizonsS, boosted);
  const lambdaScale = gramScale(gram(b.train, false));
  const stage = (fs: FeatureSamples, raw: { f: Float64Array; p: number }, fit: RidgeFit): BoostStage => {
    const pred = predict(fit, fs);
    const H = fs.h;
    const models = boosted.map((k) => {
      const y = new Float64Array(fs.n);
      for (let r = 0; r < fs.n; r++) y[r] = (fs.y[r * H + k] ?? 0) - (alphas[k] ?? 0) * (pred[r * H + k] ?? 0);
      return fitGbmL1({ n: fs.n, p: raw.p, x: raw.f }, y, gbmOptions);
    });
    return { models, interp };
  };
  // The network's penalty, chosen as the ridge's was: fitted on train, scored on validation.
  const neuralChoice = neuralOptions && chooseNeuralAlpha({ raw: rawFeatures(layout, b.trainL), s: b.trainL }, { raw: rawFeatures(layout, b.validL), s: b.validL }, neuralOptions);
  const epochs: number[] = [];
  type Refit = { weights: (qLo: Float32Array, qHi: Float32Array, mix: Float32Array) => FeatureRidgeWeights; network?: Omit<NeuralStage, 'mix'> };
  const refit = (s: AnchoredSamples, withNetwork = true): Refit => {
    const raw = rawFeatures(layout, s);
    const fs = featureSamples(layout, s, std, raw);
    const g = gram(fs, false);
    const fit = solveRidgePerColumn(g, b.lambdas.map((l) => (l * gramScale(g)) / lambdaScale));
    const boost = stage(fs, raw, fit);
    const nf = withNetwork && neuralOptions && neuralChoice ? fitNeural({ raw, s }, neuralChoice.alpha, neuralOptions) : undefined;
    if (nf) epochs.push(nf.epochs);
    const network = nf?.stage;
    return { network, weights: (qLo, qHi, mix) => ({ ...foldWeights(layout, stepS, std, fit, alphas, qLo, qHi, scaleFloor), boost, ...(network ? { neural: { ...network, mix } } : {}) }) };
  };
  const H = horizonsS.length;
  const zero = new Float32Array(H);
  const vi = volatilityIndex(layout);
  /** Both members' forecasts of `held`, its truths and interval scales (rows x horizons). */
  const forecasts = (w: FeatureRidgeWeights, network: Omit<NeuralStage, 'mix'> | undefined, s: AnchoredSamples): { model: Float64Array; network: Float64Array; truth: Float64Array; scale: Float64Array } => {
    const out = { model: new Float64Array(s.n * H), network: new Float64Array(s.n * H), truth: new Float64Array(s.n * H), scale: new Float64Array(s.n) };
    const W = b.windowSteps;
    for (let r = 0; r < s.n; r++) {
      const row = r * s.p;
      const window = s.x.subarray(row, row + W);
      const time: [number, number] = [s.x[row + W] ?? 0, s.x[row + W + 1] ?? 0];
      const fc = featureReferenceForward(w, window, time);
      const f = computeFeatures(layout, window, time);
      const nn = network ? predictMlp(network, f) : undefined;
      out.scale[r] = (f[vi] ?? 0) + scaleFloor;
      for (let k = 0; k < H; k++) {
        out.model[r * H + k] = fc.forecast[k] ?? 0;
        out.network[r * H + k] = (s.base[r] ?? 0) + (nn?.[k] ?? 0);
        out.truth[r * H + k] = s.targetsRh[r * H + k] ?? 0;
      }
    }
    return out;
  };
  // 0. the network's share per horizon, chosen as the ridge's shrinkage was: ridge, trees and
  //    network (the penalty search's, one seed) fitted on train, scored on validation
  const mix = neuralChoice ? (() => {
    const v = forecasts(refit(b.trainL, false).weights(zero, zero, zero), neuralChoice.stage, b.validL);
    return chooseMix(v.model, v.network, v.truth, H);
  })() : zero;
  // 1. intervals: each chronological block of train + validation predicted by ridge, trees and
  //    network fitted on the other blocks (as cv-conformal.ts does for the ridge), mixed as above
  const blocks = Array.from({ length: CV_BLOCKS }, (_, i) => b.samples(Math.floor((b.cut2 * i) / CV_BLOCKS), Math.floor((b.cut2 * (i + 1)) / CV_BLOCKS))).filter((x) => x.n > 0);
  if (blocks.length < 2) throw new ModelError('TRAINING_FAILED', 'interval calibration needs at least two non-empty cross-validation blocks; the series has too few usable windows');
  const residuals: number[][] = Array.from({ length: H }, () => []);
  blocks.forEach((held, i) => {
    const r0 = refit(concatSamples(blocks.filter((_, j) => j !== i)));
    const oof = forecasts(r0.weights(zero, zero, zero), r0.network, held);
    for (let r = 0; r < held.n; r++) {
      for (let k = 0; k < H; k++) {
        const y = mixForecast(oof.model[r * H + k] ?? 0, oof.network[r * H + k] ?? 0, mix[k] ?? 0);
        residuals[k]?.push(((oof.truth[r * H + k] ?? 0) - y) / (oof.scale[r] ?? 1));
      }
    }
  });
  const { qLo, qHi } = bandOffsets(residuals, b.level);
  // 2. the report: train + validation fit scored on test
  const report = evaluateFeatureWeights(refit(b.samples(0, b.cut2)).weights(qLo, qHi, mix), b.testL, horizonsS);
  // 3. the shipped weights
  const weights = refit(b.samples(0, b.n)).weights(qLo, qHi, mix);
  const members = `direct ridge per horizon shrunk toward persistence (penalty and shrinkage chosen on validation), plus absolute-error gradient-boosted trees (${gbmOptions.rounds} rounds, depth ${gbmOptions.depth}) fitted to the ridge's residuals at ${boosted.length} horizons and interpolated between them`;
  const network = neuralOptions && neuralChoice ? `; averaged per horizon with a neural network (${neuralOptions.seeds} seeds x ${neuralOptions.mlp.hidden} ReLU units, L2 ${neuralChoice.alpha} chosen on validation, all horizons as outputs), the network's share per horizon chosen on validation` : '';
  const kind = neuralOptions ? 'feature-ensemble' : 'feature-boosted';
  const contract = trainedContract(b.csv, b.opts, { stepS, windowSteps: b.windowSteps, horizonsS, level: b.level, maxFillSteps: b.maxFillSteps }, report, kind, `${layout.total} features computed in the graph from the ${b.windowSteps}-step window and time of day (multi-scale trend means, recent slope, first window steps, level, 6 h volatility, time-of-day interactions and harmonics; models/feature-set.ts); ${members}${network}; ${b.level} interval from ${CV_BLOCKS}-block cross-validated conformal residuals of the whole forecast scaled by recent volatility; refitted on all data`);
  const neural = neuralOptions && neuralChoice ? { neural: { alpha: neuralChoice.alpha, alphas_tried: neuralChoice.tried, hidden: neuralOptions.mlp.hidden, seeds: neuralOptions.seeds, mean_epochs: round(epochs.reduce((a, e) => a + e, 0) / Math.max(1, epochs.length)), mix: Array.from(mix) } } : {};
  return featureResult(weights, contract, { steps: b.n, samples: { train: b.trainL.n, validation: b.validL.n, test: b.testL.n }, lambdas: b.lambdas, alphas, validation: b.validation, test: report, ...neural });
}

/** Several sample sets as one (rows in order; anchors keep their step indices). */
function concatSamples(parts: AnchoredSamples[]): AnchoredSamples {
  const first = parts[0] as AnchoredSamples;
  const n = parts.reduce((a, s) => a + s.n, 0);
  const x = new Float64Array(n * first.p);
  const y = new Float64Array(n * first.h);
  const base = new Float64Array(n);
  const targetsRh = new Float64Array(n * first.h);
  const anchors: number[] = [];
  let r = 0;
  for (const s of parts) {
    x.set(s.x, r * first.p);
    y.set(s.y, r * first.h);
    base.set(s.base, r);
    targetsRh.set(s.targetsRh, r * first.h);
    anchors.push(...s.anchors);
    r += s.n;
  }
  return { n, p: first.p, h: first.h, x, y, base, targetsRh, anchors };
}

function layoutOrThrow(stepS: number, windowSteps: number): FeatureLayout {
  try {
    return featureLayout(stepS, windowSteps);
  } catch (err) {
    throw new ModelError('DATA_INVALID', `bad training options: ${(err as Error).message}`, [(err as Error).message]);
  }
}

/** Per horizon, the alpha in ALPHAS with the lowest validation MAE (ties: the smaller alpha). */
function chooseAlphas(fit: RidgeFit, valid: FeatureSamples, horizonsS: number[]): { alphas: number[]; validation: FeatureTrainResult['summary']['validation'] } {
  const H = valid.h;
  const pred = predict(fit, valid);
  const alphas: number[] = [];
  const validation: FeatureTrainResult['summary']['validation'] = [];
  for (let k = 0; k < H; k++) {
    let best = Infinity;
    let bestAlpha = 0;
    for (const a of ALPHAS) {
      let e = 0;
      for (let r = 0; r < valid.n; r++) e += Math.abs(a * (pred[r * H + k] ?? 0) - (valid.y[r * H + k] ?? 0));
      if (e < best - 1e-12) {
        best = e;
        bestAlpha = a;
      }
    }
    let persistence = 0;
    for (let r = 0; r < valid.n; r++) persistence += Math.abs(valid.y[r * H + k] ?? 0);
    alphas.push(bestAlpha);
    validation.push({ horizon_s: horizonsS[k] ?? 0, model: round(best / valid.n), persistence: round(persistence / valid.n) });
  }
  return { alphas, validation };
}

/**
 * Like cv-conformal.ts, with residuals of the shrunk forecast divided by the interval scale.
 * Uncentred Grams are additive, so each held-out block costs one solve.
 */
function cvScaledConformal(blocks: FeatureSamples[], lambdas: number[], lambdaScale: number, alphas: number[], scaleFloor: number, level: number): { qLo: Float32Array; qHi: Float32Array; fullFit: RidgeFit; refit: (more: FeatureSamples) => RidgeFit } {
  const used = blocks.filter((b) => b.n > 0);
  if (used.length < 2) throw new ModelError('TRAINING_FAILED', 'interval calibration needs at least two non-empty cross-validation blocks; the series has too few usable windows');
  const grams = used.map((b) => gram(b, false));
  const total = combine(grams, 1);
  const H = total.h;
  const residuals: number[][] = Array.from({ length: H }, () => []);
  const solve = (g: Gram): RidgeFit => solveRidgePerColumn(g, lambdas.map((l) => (l * gramScale(g)) / lambdaScale));
  used.forEach((block, i) => {
    const fit = solve(combine([total, grams[i] as Gram], -1));
    const pred = predict(fit, block);
    for (let r = 0; r < block.n; r++) {
      const s = (block.vol[r] ?? 0) + scaleFloor;
      for (let k = 0; k < H; k++) residuals[k]?.push(((block.y[r * H + k] ?? 0) - (alphas[k] ?? 0) * (pred[r * H + k] ?? 0)) / s);
    }
  });
  const { qLo, qHi } = bandOffsets(residuals, level);
  return { qLo, qHi, fullFit: solve(total), refit: (more) => solve(combine([total, gram(more, false)], 1)) };
}

/**
 * Per horizon, the conformal offsets of the scaled residuals, clamped so the band always
 * contains the forecast: the gateway rejects a model output whose interval excludes it
 * (onnx-forecaster.ts, invalid_output).
 */
function bandOffsets(residuals: number[][], level: number): { qLo: Float32Array; qHi: Float32Array } {
  const qLo = new Float32Array(residuals.length);
  const qHi = new Float32Array(residuals.length);
  residuals.forEach((res, k) => {
    const q = conformalOffsets(res, level);
    qLo[k] = Math.min(0, q.lo);
    qHi[k] = Math.max(0, q.hi);
  });
  return { qLo, qHi };
}

/** grams[0] + sign * (grams[1] + ...): the sum of all, or (sign -1) the first minus the rest. */
function combine(grams: Gram[], sign: 1 | -1): Gram {
  const first = grams[0] as Gram;
  const xtx = sign === 1 ? new Float64Array(first.xtx.length) : first.xtx.slice();
  const xty = sign === 1 ? new Float64Array(first.xty.length) : first.xty.slice();
  for (const g of sign === 1 ? grams : grams.slice(1)) {
    for (let i = 0; i < xtx.length; i++) xtx[i] = (xtx[i] ?? 0) + sign * (g.xtx[i] ?? 0);
    for (let i = 0; i < xty.length; i++) xty[i] = (xty[i] ?? 0) + sign * (g.xty[i] ?? 0);
  }
  return { ...first, xtx, xty };
}

/** Standardisation and shrinkage folded into raw-feature weights: delta = f · wF + b. */
function foldWeights(l: FeatureLayout, stepS: number, std: Standardiser, fit: RidgeFit, alphas: number[], qLo: Float32Array, qHi: Float32Array, scaleFloor: number): FeatureRidgeWeights {
  const P = l.total;
  const H = alphas.length;
  const wF = new Float32Array(P * H);
  const b = new Float32Array(H);
  for (let k = 0; k < H; k++) {
    const a = alphas[k] ?? 0;
    let bias = fit.w[P * H + k] ?? 0;
    for (let j = 0; j < P; j++) {
      const wj = (fit.w[j * H + k] ?? 0) / (std.sd[j] ?? 1);
      wF[j * H + k] = a * wj;
      bias -= wj * (std.mu[j] ?? 0);
    }
    b[k] = a * bias;
  }
  return { stepS, windowSteps: l.windowSteps, horizons: H, wF, b, qLo, qHi, scaleFloor };
}

/** Per-horizon MAE (model vs persistence) and interval coverage of the float32 weights on level-mode samples. */
export function evaluateFeatureWeights(w: FeatureRidgeWeights, s: AnchoredSamples, horizonsS: number[]): HorizonReport[] {
  const H = horizonsS.length;
  const W = w.windowSteps;
  const model = new Array<number>(H).fill(0);
  const persistence = new Array<number>(H).fill(0);
  const covered = new Array<number>(H).fill(0);
  for (let r = 0; r < s.n; r++) {
    const row = r * s.p;
    const out = featureReferenceForward(w, s.x.subarray(row, row + W), [s.x[row + W] ?? 0, s.x[row + W + 1] ?? 0]);
    const base = s.base[r] ?? 0;
    for (let k = 0; k < H; k++) {
      const target = s.targetsRh[r * H + k] ?? 0;
      model[k] = (model[k] ?? 0) + Math.abs((out.forecast[k] ?? 0) - target);
      persistence[k] = (persistence[k] ?? 0) + Math.abs(base - target);
      if (target >= (out.lower[k] ?? 0) && target <= (out.upper[k] ?? 0)) covered[k] = (covered[k] ?? 0) + 1;
    }
  }
  const n = Math.max(1, s.n);
  return horizonsS.map((h, k) => ({ horizon_s: h, mae: { model: (model[k] ?? 0) / n, persistence: (persistence[k] ?? 0) / n }, coverage: (covered[k] ?? 0) / n }));
}

function median(v: Float64Array): number {
  const sorted = Array.from(v).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
