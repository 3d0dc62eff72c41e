import { ModelError } from './errors.ts';
import type { NeuralStage } from './feature-ridge.ts';
import { fitStandardiser } from './feature-samples.ts';
import { averageNets, DEFAULT_MLP_OPTIONS, fitMlp, predictMlp } from './mlp.ts';
import type { MlpNet, MlpOptions } from './mlp.ts';
import type { AnchoredSamples } from './series.ts';

/**
 * The neural member of the ensemble model (train-features.ts): a seed ensemble of small
 * networks (mlp.ts) on the same in-graph features as the ridge and the trees, predicting the
 * forecast delta (target - last) at every horizon at once. Inputs are standardised on the fit
 * rows and targets scaled per horizon; both are folded into the weights, so the graph feeds the
 * raw features and reads deltas in %RH.
 */
export interface NeuralOptions {
  /** L2 penalties tried; the one with the lowest validation MAE (mean over horizons) is kept. */
  alphas: number[];
  /** Networks averaged (seeds 1..n). */
  seeds: number;
  mlp: MlpOptions;
}

/**
 * 3, 10, 30 and 100: in the prototypes (scikit-learn, MODEL_CARD.md) validation chose 30 for
 * RH_1 and 3 for Air Quality, and 1 or 300 never won.
 */
export const DEFAULT_NEURAL_OPTIONS: NeuralOptions = { alphas: [3, 10, 30, 100], seeds: 3, mlp: DEFAULT_MLP_OPTIONS };

/** Raw feature rows (rawFeatures) with their samples. */
export interface RawSet {
  raw: { f: Float64Array; p: number };
  s: AnchoredSamples;
}

/** The stage without its mix, plus the mean epochs the networks ran. */
export interface NeuralFit {
  stage: Omit<NeuralStage, 'mix'>;
  epochs: number;
}

export function fitNeural(set: RawSet, alpha: number, o: NeuralOptions): NeuralFit {
  const { raw, s } = set;
  const { p } = raw;
  const n = s.n;
  const H = s.h;
  if (n < 50) throw new ModelError('TRAINING_FAILED', `the neural member needs at least 50 training windows, got ${n}`);
  const std = fitStandardiser(raw);
  const x = new Float64Array(n * p);
  for (let i = 0; i < x.length; i++) x[i] = ((raw.f[i] ?? 0) - (std.mu[i % p] ?? 0)) / (std.sd[i % p] ?? 1);
  const mean = new Float64Array(H);
  const sd = new Float64Array(H);
  const delta = (r: number, k: number): number => (s.targetsRh[r * H + k] ?? 0) - (s.base[r] ?? 0);
  for (let k = 0; k < H; k++) {
    let m = 0;
    for (let r = 0; r < n; r++) m += delta(r, k);
    m /= n;
    let q = 0;
    for (let r = 0; r < n; r++) q += (delta(r, k) - m) ** 2;
    mean[k] = m;
    sd[k] = Math.sqrt(q / n) || 1;
  }
  const y = new Float64Array(n * H);
  for (let r = 0; r < n; r++) for (let k = 0; k < H; k++) y[r * H + k] = (delta(r, k) - (mean[k] ?? 0)) / (sd[k] ?? 1);
  const fits = Array.from({ length: o.seeds }, (_, i) => {
    const seed = o.mlp.seed + i;
    try {
      return fitMlp(x, y, n, p, H, { ...o.mlp, alpha, seed });
    } catch (err) {
      throw new ModelError('TRAINING_FAILED', `neural network (L2 ${alpha}, seed ${seed}, ${n} windows): ${(err as Error).message}`);
    }
  });
  const net = averageNets(fits.map((f) => f.net));
  return { stage: fold(net, std, mean, sd), epochs: fits.reduce((a, f) => a + f.epochs, 0) / fits.length };
}

/** Standardisation of inputs and scaling of outputs folded into float32 weights. */
function fold(net: MlpNet, std: { mu: Float64Array; sd: Float64Array }, mean: Float64Array, sd: Float64Array): Omit<NeuralStage, 'mix'> {
  const { inputs: p, hidden: h, outputs: q } = net;
  const w1 = new Float32Array(p * h);
  const b1 = new Float32Array(h);
  for (let j = 0; j < h; j++) {
    let bias = net.b1[j] ?? 0;
    for (let c = 0; c < p; c++) {
      const wc = (net.w1[c * h + j] ?? 0) / (std.sd[c] ?? 1);
      w1[c * h + j] = wc;
      bias -= wc * (std.mu[c] ?? 0);
    }
    b1[j] = bias;
  }
  const w2 = new Float32Array(h * q);
  const b2 = new Float32Array(q);
  for (let k = 0; k < q; k++) {
    for (let j = 0; j < h; j++) w2[j * q + k] = (net.w2[j * q + k] ?? 0) * (sd[k] ?? 1);
    b2[k] = (net.b2[k] ?? 0) * (sd[k] ?? 1) + (mean[k] ?? 0);
  }
  return { hidden: h, w1, b1, w2, b2 };
}

/**
 * The penalty: one network per alpha fitted on `fit`, scored on `valid` by the MAE of its
 * forecast averaged over horizons (ties: the larger penalty).
 */
export function chooseNeuralAlpha(fit: RawSet, valid: RawSet, o: NeuralOptions): { alpha: number; tried: { alpha: number; mae: number }[]; stage: Omit<NeuralStage, 'mix'> } {
  const one = { ...o, seeds: 1 };
  const tried = o.alphas.map((alpha) => {
    const { stage } = fitNeural(fit, alpha, one);
    return { alpha, mae: Math.round(neuralMae(stage, valid) * 10_000) / 10_000, stage };
  });
  const best = tried.reduce((a, t) => (t.mae < a.mae || (t.mae === a.mae && t.alpha > a.alpha) ? t : a));
  return { alpha: best.alpha, tried: tried.map(({ alpha, mae }) => ({ alpha, mae })), stage: best.stage };
}

function neuralMae(stage: Omit<NeuralStage, 'mix'>, set: RawSet): number {
  const { raw, s } = set;
  const H = s.h;
  let e = 0;
  for (let r = 0; r < s.n; r++) {
    const out = predictMlp(stage, raw.f.subarray(r * raw.p, (r + 1) * raw.p));
    for (let k = 0; k < H; k++) e += Math.abs((s.base[r] ?? 0) + (out[k] ?? 0) - (s.targetsRh[r * H + k] ?? 0));
  }
  return e / Math.max(1, s.n * H);
}

/** Mix grid: 0 (no network) to 1 (the network alone) in steps of 0.05. */
const MIX_GRID = Array.from({ length: 21 }, (_, i) => i / 20);

/**
 * Per horizon, the share of the network in the forecast with the lowest MAE (ties: the smaller
 * share). The trainer passes forecasts of the validation split by members fitted on the
 * training split only: chosen on cross-validated blocks instead, the share rewarded a network
 * that interpolates between seasons and missed on a later one (RH_6: 0.7 at 6 h, and the
 * ensemble 10 points worse than the boosted model on test). `model` and `network` are the two members' forecasts,
 * `truth` the targets, all rows x horizons.
 */
export function chooseMix(model: Float64Array, network: Float64Array, truth: Float64Array, H: number): Float32Array {
  const n = truth.length / H;
  const mix = new Float32Array(H);
  for (let k = 0; k < H; k++) {
    let best = Infinity;
    for (const m of MIX_GRID) {
      let e = 0;
      for (let r = 0; r < n; r++) e += Math.abs(mixForecast(model[r * H + k] ?? 0, network[r * H + k] ?? 0, m) - (truth[r * H + k] ?? 0));
      if (e < best - 1e-9) {
        best = e;
        mix[k] = m;
      }
    }
  }
  return mix;
}

/** The forecast with the network's share `mix`, clipped to 0..100 %RH as the graph clips it. */
export function mixForecast(model: number, network: number, mix: number): number {
  return Math.min(100, Math.max(0, model + mix * (network - model)));
}
