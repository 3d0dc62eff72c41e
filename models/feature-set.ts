/**
 * The features of the feature-ridge model (feature-ridge.ts), computed from the contract inputs
 * only (`rh` [W] in %RH and `time_features` [sin, cos]), so the ONNX graph (feature-onnx.ts)
 * computes the same thing inside the model and the gateway needs no change. With
 * last = rh[W-1] and d_k = rh[k] - last:
 *
 *   linear  = d · A: multi-scale means of d over the last 1, 3, 6, 12 and 24 h (a recent mean
 *             minus the last value: the trend at each scale), d at lags 1, 2, 3 and 6 steps
 *             (the recent slope), and d at the first window steps 0, 3, 6, 12, 18, 24, 36
 *             (with a 24 h window: the same time yesterday and the hours after it).
 *   last                       the level (lets the model revert toward typical humidity)
 *   sin, cos                   time of day
 *   vol = sqrt(mean(step^2))   RMS of the step-to-step changes over the last 6 h
 *   sin*last, cos*last, sin*vol, cos*vol, sin*m1, cos*m1   (m1 = the first multi-scale mean)
 *                              interactions: the daily swing depends on level and volatility
 *   m*last, m*vol, |m|         for every multi-scale mean m: how far a trend carries depends on
 *                              the level (saturation) and on how noisy the window is
 *   sin kx, cos kx (k = 2..4)  higher harmonics of the time of day x, from sin and cos by the
 *                              angle-addition formulas: a daily pattern (dinner, showers) is
 *                              sharper than one sine wave
 *
 * Scales, lags and first-step indices that do not fit in the window are dropped, so a small
 * window (as in the CLI tests) still has a valid, smaller feature set.
 */

/** Multi-scale mean lengths in seconds. */
const MEAN_SCALES_S = [3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600];
/** Lags in steps for the recent-slope deltas. */
const LAG_STEPS = [1, 2, 3, 6];
/** Window indices whose delta is a feature (same time yesterday + k steps for a 24 h window). */
const FIRST_STEPS = [0, 3, 6, 12, 18, 24, 36];
/** The volatility feature looks back this far. */
const VOLATILITY_S = 6 * 3600;
/** Features after the linear block: last, sin, cos, vol, and six interactions (then 3 per mean, then the harmonics). */
export const EXTRA_FEATURES = 10;
/** Harmonics 2..HARMONICS of the time of day, a sin and a cos each. */
export const HARMONICS = 4;
const HARMONIC_FEATURES = 2 * (HARMONICS - 1);

export interface FeatureLayout {
  windowSteps: number;
  /** Mean lengths in steps (each >= 2 and <= W). */
  meanSteps: number[];
  lags: number[];
  firstSteps: number[];
  /** Step changes in the volatility feature (>= 1). */
  volSteps: number;
  /** Columns of A (the linear block). */
  linear: number;
  /** All features: linear + EXTRA_FEATURES + 3 per multi-scale mean + the time-of-day harmonics. */
  total: number;
}

export function featureLayout(stepS: number, windowSteps: number): FeatureLayout {
  const W = windowSteps;
  const meanSteps = [...new Set(MEAN_SCALES_S.map((s) => Math.min(W, Math.round(s / stepS))))].filter((m) => m >= 2);
  const lags = LAG_STEPS.filter((l) => l < W);
  const firstSteps = FIRST_STEPS.filter((k) => k < W - 1);
  const volSteps = Math.max(1, Math.min(W - 1, Math.round(VOLATILITY_S / stepS)));
  const linear = meanSteps.length + lags.length + firstSteps.length;
  if (meanSteps.length === 0) throw new RangeError(`feature layout: a ${W}-step window of ${stepS} s holds no multi-scale mean (need >= 2 steps of the 1 h..24 h scales)`);
  return { windowSteps: W, meanSteps, lags, firstSteps, volSteps, linear, total: linear + EXTRA_FEATURES + 3 * meanSteps.length + HARMONIC_FEATURES };
}

/** A (W x linear, row-major): d · A gives the linear block. */
export function linearMatrix(l: FeatureLayout): Float32Array {
  const W = l.windowSteps;
  const a = new Float32Array(W * l.linear);
  let c = 0;
  for (const m of l.meanSteps) {
    for (let k = W - m; k < W; k++) a[k * l.linear + c] = 1 / m;
    c++;
  }
  for (const lag of l.lags) a[(W - 1 - lag) * l.linear + c++] = 1;
  for (const k of l.firstSteps) a[k * l.linear + c++] = 1;
  return a;
}

/** D (W x volSteps): column j of d · D is rh[W-V+j] - rh[W-V+j-1] (the last is subtracted out). */
export function differenceMatrix(l: FeatureLayout): Float32Array {
  const W = l.windowSteps;
  const V = l.volSteps;
  const m = new Float32Array(W * V);
  for (let j = 0; j < V; j++) {
    const k = W - V + j;
    m[k * V + j] = 1;
    m[(k - 1) * V + j] = -1;
  }
  return m;
}

/** The features of one window, in float64 (the reference computation). */
export function computeFeatures(l: FeatureLayout, rh: ArrayLike<number>, time: readonly [number, number]): number[] {
  const W = l.windowSteps;
  if (rh.length !== W) throw new RangeError(`features: window has ${rh.length} values, expected ${W}`);
  const last = rh[W - 1] ?? 0;
  const d = (k: number): number => (rh[k] ?? 0) - last;
  const f: number[] = [];
  for (const m of l.meanSteps) {
    let s = 0;
    for (let k = W - m; k < W; k++) s += d(k);
    f.push(s / m);
  }
  for (const lag of l.lags) f.push(d(W - 1 - lag));
  for (const k of l.firstSteps) f.push(d(k));
  let ss = 0;
  for (let k = W - l.volSteps; k < W; k++) ss += ((rh[k] ?? 0) - (rh[k - 1] ?? 0)) ** 2;
  const vol = Math.sqrt(ss / l.volSteps);
  const [sin, cos] = time;
  const m1 = f[0] ?? 0;
  f.push(last, sin, cos, vol, sin * last, cos * last, sin * vol, cos * vol, sin * m1, cos * m1);
  const means = f.slice(0, l.meanSteps.length);
  f.push(...means.map((m) => m * last), ...means.map((m) => m * vol), ...means.map(Math.abs));
  f.push(...timeHarmonics(sin, cos));
  return f;
}

/**
 * [sin 2x, cos 2x, ..., sin Kx, cos Kx] from sin x and cos x by angle addition, exactly as the
 * ONNX graph computes them (Mul/Sub/Add only):
 *   s_{k+1} = s_k c + c_k s,   c_{k+1} = c_k c - s_k s.
 */
export function timeHarmonics(sin: number, cos: number): number[] {
  const out: number[] = [];
  let s = sin;
  let c = cos;
  for (let k = 2; k <= HARMONICS; k++) {
    const sk = s * cos + c * sin;
    const ck = c * cos - s * sin;
    out.push(sk, ck);
    s = sk;
    c = ck;
  }
  return out;
}

/** Index of `vol` in the feature vector (the interval scale). */
export function volatilityIndex(l: FeatureLayout): number {
  return l.linear + 3;
}
