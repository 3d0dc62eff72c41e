import { computeFeatures, featureLayout, volatilityIndex } from './feature-set.ts';
import { predictGbm } from './gbm.ts';
import { predictMlp } from './mlp.ts';
import type { GbmModel } from './gbm.ts';
import { clipRh } from './reference.ts';
import type { ReferenceOutput } from './reference.ts';

/**
 * The feature-ridge model's forward pass in plain TypeScript: the documented reference the ONNX
 * graph (feature-onnx.ts) must reproduce. For one window, with f = computeFeatures(...)
 * (feature-set.ts) and vol its volatility feature:
 *   y     = last + f · wF[:, h] + b[h]        (standardisation and shrinkage folded into wF, b)
 *           + sum_s interp[s, h] * tree_s(f)    (boosted only: absolute-error boosted trees fitted
 *                                              to the ridge's residuals at a few horizons,
 *                                              linearly interpolated to every horizon)
 *   y     = last + (1 - mix[h]) * (y - last) + mix[h] * nn_h(f)   (ensemble only: NeuralStage)
 *   s     = vol + scaleFloor                  (interval scale, %RH)
 *   lower = y + s * qLo[h];  upper = y + s * qHi[h];  all three clipped to [0, 100].
 */
export interface FeatureRidgeWeights {
  stepS: number;
  windowSteps: number;
  horizons: number;
  /** features x horizons, row-major. */
  wF: Float32Array;
  b: Float32Array;
  /** Per-horizon conformal quantiles of residual / s. */
  qLo: Float32Array;
  qHi: Float32Array;
  /** Added to the volatility so a flat window still gets an interval, %RH. */
  scaleFloor: number;
  /** The boosted stage (absent: the plain feature ridge). */
  boost?: BoostStage;
  /** The neural member averaged in per horizon (absent: the ridge, or ridge + trees, alone). */
  neural?: NeuralStage;
}

/**
 * A one-hidden-layer ReLU network on the raw features (standardisation folded into w1 and b1)
 * whose outputs are forecast deltas in %RH (the target scale folded into w2 and b2), and the
 * share of its delta in the forecast per horizon:
 *   nn    = relu(f · w1 + b1) · w2 + b2
 *   delta = delta_boosted + mix[h] * (nn[h] - delta_boosted)
 */
export interface NeuralStage {
  hidden: number;
  /** features x hidden, row-major. */
  w1: Float32Array;
  b1: Float32Array;
  /** hidden x horizons, row-major. */
  w2: Float32Array;
  b2: Float32Array;
  /** Per horizon in [0, 1]: 0 is the model without the network, 1 the network alone. */
  mix: Float32Array;
}

export interface BoostStage {
  /** One tree model per boosted horizon, predicting the ridge's residual there, %RH. */
  models: GbmModel[];
  /** models.length x horizons, row-major: how each boosted horizon's correction reaches every horizon. */
  interp: Float32Array;
}

/**
 * `treeFeatures`: the features the trees see, when they should not be this computation's own
 * rounded to float32 (graph-check.ts passes the graph's, so both branch alike).
 */
export function featureReferenceForward(w: FeatureRidgeWeights, rh: ArrayLike<number>, time: readonly [number, number], treeFeatures?: ArrayLike<number>): ReferenceOutput {
  const layout = featureLayout(w.stepS, w.windowSteps);
  const f = computeFeatures(layout, rh, time);
  const H = w.horizons;
  const last = rh[w.windowSteps - 1] ?? 0;
  const s = (f[volatilityIndex(layout)] ?? 0) + w.scaleFloor;
  const forecast: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  // Features as the graph holds them (float32) before they meet the trees' float32 thresholds.
  const f32 = treeFeatures ?? Float32Array.from(f);
  const trees = w.boost?.models.map((m) => predictGbm(m, f32)) ?? [];
  const nn = w.neural ? predictMlp(w.neural, f) : undefined;
  for (let h = 0; h < H; h++) {
    let delta = w.b[h] ?? 0;
    for (let j = 0; j < f.length; j++) delta += (f[j] ?? 0) * (w.wF[j * H + h] ?? 0);
    trees.forEach((t, i) => {
      delta += t.value * (w.boost?.interp[i * H + h] ?? 0);
    });
    if (nn && w.neural) delta += (w.neural.mix[h] ?? 0) * ((nn[h] ?? 0) - delta);
    const y = last + delta;
    forecast.push(clipRh(y));
    lower.push(clipRh(y + s * (w.qLo[h] ?? 0)));
    upper.push(clipRh(y + s * (w.qHi[h] ?? 0)));
  }
  if (!w.boost) return { forecast, lower, upper };
  return { forecast, lower, upper, splitMargin: Math.min(Infinity, ...trees.map((t) => t.margin)) };
}

/**
 * The horizons (indices) that get their own tree model: the first, and those nearest to 1/12,
 * 1/6, 1/3, 1/2, 2/3, 5/6 and all of the longest (10 min, 30 min, 1, 2, 3, 4, 5 and 6 h for the
 * default 36 horizons); every horizon when there are 8 or fewer.
 */
export function boostedHorizons(horizonsS: number[]): number[] {
  if (horizonsS.length <= 8) return horizonsS.map((_, i) => i);
  const max = Math.max(...horizonsS);
  const nearest = (t: number): number => horizonsS.reduce((best, h, i) => (Math.abs(h - t) < Math.abs((horizonsS[best] ?? 0) - t) ? i : best), 0);
  return [...new Set([0, ...[1 / 12, 1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6, 1].map((q) => nearest(q * max))])].sort((a, b) => a - b);
}

/**
 * S x H interpolation matrix: horizon h takes its boosted neighbours' corrections linearly in
 * horizon seconds (the correction is 0 at horizon 0 and held beyond the last boosted horizon).
 */
export function interpolationMatrix(horizonsS: number[], boosted: number[]): Float32Array {
  const H = horizonsS.length;
  const S = boosted.length;
  const m = new Float32Array(S * H);
  const at = boosted.map((i) => horizonsS[i] ?? 0);
  horizonsS.forEach((h, k) => {
    const right = at.findIndex((t) => t >= h);
    if (right === -1) {
      m[(S - 1) * H + k] = 1;
      return;
    }
    const t1 = at[right] ?? 0;
    const t0 = right === 0 ? 0 : (at[right - 1] ?? 0);
    const u = t1 === t0 ? 1 : (h - t0) / (t1 - t0);
    m[right * H + k] = u;
    if (right > 0) m[(right - 1) * H + k] = 1 - u;
  });
  return m;
}
