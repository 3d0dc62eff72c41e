import { computeFeatures, featureLayout, volatilityIndex } from './feature-set.ts';
import type { ReferenceOutput } from './reference.ts';

/**
 * The feature-ridge model's forward pass in plain TypeScript: the documented reference the ONNX
 * graph (feature-onnx.ts) must reproduce. For one window, with f = computeFeatures(...)
 * (feature-set.ts) and vol its volatility feature:
 *   y     = last + f · wF[:, h] + b[h]        (standardisation and shrinkage folded into wF, b)
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
}

export function featureReferenceForward(w: FeatureRidgeWeights, rh: ArrayLike<number>, time: readonly [number, number]): ReferenceOutput {
  const layout = featureLayout(w.stepS, w.windowSteps);
  const f = computeFeatures(layout, rh, time);
  const H = w.horizons;
  const last = rh[w.windowSteps - 1] ?? 0;
  const s = (f[volatilityIndex(layout)] ?? 0) + w.scaleFloor;
  const forecast: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  for (let h = 0; h < H; h++) {
    let delta = w.b[h] ?? 0;
    for (let j = 0; j < f.length; j++) delta += (f[j] ?? 0) * (w.wF[j * H + h] ?? 0);
    const y = last + delta;
    forecast.push(clip(y));
    lower.push(clip(y + s * (w.qLo[h] ?? 0)));
    upper.push(clip(y + s * (w.qHi[h] ?? 0)));
  }
  return { forecast, lower, upper };
}

function clip(v: number): number {
  return Math.min(100, Math.max(0, v));
}
