import type { CsvSeries } from './csv.ts';
import { bucketMeans, interpolateGaps } from './resample.ts';
import { naiveSecondsOfDay, timeFeatures } from './time-features.ts';
import type { Samples } from './ridge.ts';

/** A CSV column resampled to the model step (resample.ts rule), gaps up to maxFillSteps filled. */
export interface StepSeries {
  stepMs: number;
  /** Start of step 0 (naive ms). */
  startMs: number;
  /** Observed step means (null = no reading in the step). */
  raw: (number | null)[];
  /** raw with short interior gaps interpolated; longer gaps stay null. */
  filled: (number | null)[];
}

export function toStepSeries(csv: CsvSeries, stepS: number, maxFillSteps: number): StepSeries {
  const stepMs = stepS * 1000;
  const first = csv.timesMs[0] ?? 0;
  const last = csv.timesMs[csv.timesMs.length - 1] ?? 0;
  const startMs = Math.floor(first / stepMs) * stepMs;
  const steps = Math.floor((last - startMs) / stepMs) + 1;
  const points = csv.timesMs.flatMap((tMs, i) => {
    const rh = csv.values[i];
    return rh === null || rh === undefined ? [] : [{ tMs, rh }];
  });
  const raw = bucketMeans(points, { stepMs, startMs, steps });
  return { stepMs, startMs, raw, filled: interpolateGaps(raw, maxFillSteps).values };
}

export type FeatureMode = 'delta' | 'level';

export interface SampleSpec {
  windowSteps: number;
  /** Horizons in steps (horizon_s / step_s). */
  horizonSteps: number[];
  mode: FeatureMode;
  /** First anchor (index of the window's last step) to consider. */
  fromAnchor: number;
  /** Targets must lie before this step index (keeps splits from sharing targets). */
  targetLimit: number;
  /** Append a constant 1 feature (a penalised intercept, see ridge.ts). Default false. */
  constant?: boolean;
}

export interface AnchoredSamples extends Samples {
  /** Step index of each row's last window step. */
  anchors: number[];
  /** The last window value of each row (added back to delta predictions). */
  base: Float64Array;
  /** Observed targets in %RH (n x h), whatever the mode. */
  targetsRh: Float64Array;
}

/**
 * Rows of features and targets. delta mode: x = [rh[k] - rh[last] for the window, sin, cos],
 * y = target - rh[last]; level mode: x = [rh window, sin, cos], y = target; with `constant`, a
 * trailing 1 is appended to x. A row is used only
 * when its whole window is usable and every target step was observed (never interpolated).
 */
export function buildSamples(series: StepSeries, spec: SampleSpec): AnchoredSamples {
  const W = spec.windowSteps;
  const h = spec.horizonSteps.length;
  const p = W + 2 + (spec.constant ? 1 : 0);
  const maxH = Math.max(...spec.horizonSteps);
  const anchors: number[] = [];
  for (let t = Math.max(spec.fromAnchor, W - 1); t + maxH < Math.min(spec.targetLimit, series.raw.length); t++) {
    if (usable(series, t, W, spec.horizonSteps)) anchors.push(t);
  }
  const n = anchors.length;
  const x = new Float64Array(n * p);
  const y = new Float64Array(n * h);
  const base = new Float64Array(n);
  const targetsRh = new Float64Array(n * h);
  anchors.forEach((t, r) => {
    const last = series.filled[t] as number;
    base[r] = last;
    const shift = spec.mode === 'delta' ? last : 0;
    for (let k = 0; k < W; k++) x[r * p + k] = (series.filled[t - W + 1 + k] as number) - shift;
    const [sin, cos] = timeFeatures(naiveSecondsOfDay(series.startMs + t * series.stepMs));
    x[r * p + W] = sin;
    x[r * p + W + 1] = cos;
    if (spec.constant) x[r * p + W + 2] = 1;
    spec.horizonSteps.forEach((hs, k) => {
      const target = series.raw[t + hs] as number;
      targetsRh[r * h + k] = target;
      y[r * h + k] = target - shift;
    });
  });
  return { n, p, h, x, y, anchors, base, targetsRh };
}

function usable(series: StepSeries, t: number, W: number, horizonSteps: number[]): boolean {
  for (let k = t - W + 1; k <= t; k++) if (series.filled[k] === null || series.filled[k] === undefined) return false;
  return horizonSteps.every((hs) => series.raw[t + hs] !== null && series.raw[t + hs] !== undefined);
}

/**
 * The same rows with only the last `keep` steps of each window (level or delta mode, without
 * `constant`): lets models with different windows be scored on the same anchors.
 */
export function lastSteps(s: AnchoredSamples, windowSteps: number, keep: number): AnchoredSamples {
  if (keep > windowSteps || s.p !== windowSteps + 2) throw new RangeError(`lastSteps: cannot keep ${keep} of ${windowSteps} steps from rows of ${s.p} columns`);
  if (keep === windowSteps) return s;
  const p = keep + 2;
  const x = new Float64Array(s.n * p);
  for (let r = 0; r < s.n; r++) x.set(s.x.subarray(r * s.p + windowSteps - keep, (r + 1) * s.p), r * p);
  return { ...s, p, x };
}

/** The windows (values in %RH) and time features of the given rows of level-mode samples, as onnxruntime takes them. */
export function windowBatch(s: AnchoredSamples, windowSteps: number, rows: number[]): { rh: Float32Array; time: Float32Array } {
  const W = windowSteps;
  const rh = new Float32Array(rows.length * W);
  const time = new Float32Array(rows.length * 2);
  rows.forEach((r, i) => {
    rh.set(s.x.subarray(r * s.p, r * s.p + W), i * W);
    time[i * 2] = s.x[r * s.p + W] ?? 0;
    time[i * 2 + 1] = s.x[r * s.p + W + 1] ?? 0;
  });
  return { rh, time };
}
