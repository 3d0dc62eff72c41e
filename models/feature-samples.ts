import { computeFeatures, volatilityIndex } from './feature-set.ts';
import type { FeatureLayout } from './feature-set.ts';
import type { Samples } from './ridge.ts';
import type { AnchoredSamples } from './series.ts';

/**
 * Level-mode window samples (series.ts) turned into standardised feature rows for the ridge
 * solver: x = [(f_j - mu_j) / sd_j ..., 1], y = target - last (the delta formulation, so a
 * zero fit is persistence). Standardising puts every feature under the same penalty; the
 * trainer folds mu and sd back into the weights so the graph sees raw features.
 */

export interface Standardiser {
  mu: Float64Array;
  sd: Float64Array;
}

export interface FeatureSamples extends Samples {
  /** Last window value per row, %RH. */
  base: Float64Array;
  /** Volatility feature per row (raw, %RH per step). */
  vol: Float64Array;
  targetsRh: Float64Array;
}

export function rawFeatures(l: FeatureLayout, s: AnchoredSamples): { f: Float64Array; p: number } {
  const W = l.windowSteps;
  const p = l.total;
  const f = new Float64Array(s.n * p);
  for (let r = 0; r < s.n; r++) {
    const row = r * s.p;
    f.set(computeFeatures(l, s.x.subarray(row, row + W), [s.x[row + W] ?? 0, s.x[row + W + 1] ?? 0]), r * p);
  }
  return { f, p };
}

/** Mean and standard deviation of each feature (sd 1 for a constant feature). */
export function fitStandardiser(raw: { f: Float64Array; p: number }): Standardiser {
  const { f, p } = raw;
  const n = f.length / p;
  const mu = new Float64Array(p);
  const sd = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    let m = 0;
    for (let r = 0; r < n; r++) m += f[r * p + j] ?? 0;
    m /= Math.max(1, n);
    let q = 0;
    for (let r = 0; r < n; r++) q += ((f[r * p + j] ?? 0) - m) ** 2;
    mu[j] = m;
    sd[j] = Math.sqrt(q / Math.max(1, n)) || 1;
  }
  return { mu, sd };
}

export function featureSamples(l: FeatureLayout, s: AnchoredSamples, std: Standardiser, raw = rawFeatures(l, s)): FeatureSamples {
  const p = raw.p + 1;
  const x = new Float64Array(s.n * p);
  const vol = new Float64Array(s.n);
  const vi = volatilityIndex(l);
  for (let r = 0; r < s.n; r++) {
    for (let j = 0; j < raw.p; j++) x[r * p + j] = ((raw.f[r * raw.p + j] ?? 0) - (std.mu[j] ?? 0)) / (std.sd[j] ?? 1);
    x[r * p + raw.p] = 1;
    vol[r] = raw.f[r * raw.p + vi] ?? 0;
  }
  const y = new Float64Array(s.n * s.h);
  for (let r = 0; r < s.n; r++) for (let k = 0; k < s.h; k++) y[r * s.h + k] = (s.targetsRh[r * s.h + k] ?? 0) - (s.base[r] ?? 0);
  return { n: s.n, p, h: s.h, x, y, base: s.base, vol, targetsRh: s.targetsRh };
}
