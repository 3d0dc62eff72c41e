/**
 * The one resampling rule shared by the trainer and the gateway (docs/model-contract.md):
 * - steps are buckets [k*step, (k+1)*step) aligned to multiples of step_s since the epoch;
 * - a step's value is the mean of the readings in it; faulty readings are excluded;
 * - an interior run of missing steps is filled by linear interpolation only when it is at most
 *   `maxFillSteps` long; a longer gap makes the window unusable.
 */

/**
 * Quality flags that make a reading faulty: left out of every step mean, as model input, as the
 * truth a forecast is scored against, and as training data (CSV `quality` columns, central
 * retraining). One list for the trainer and the gateway.
 */
export const FAULTY_FLAGS = ['out_of_range', 'sensor_error', 'stuck', 'spike'] as const;

export interface ResamplePoint {
  tMs: number;
  rh: number;
  /** True when the reading carries a quality flag that makes it unusable; it is then ignored. */
  faulty?: boolean;
}

export interface BucketRange {
  stepMs: number;
  /** Start of the first bucket, ms; must be a multiple of stepMs. */
  startMs: number;
  /** Number of buckets. */
  steps: number;
}

/** Mean of the usable readings in each bucket; null where a bucket has none. Points may be unsorted. */
export function bucketMeans(points: Iterable<ResamplePoint>, range: BucketRange): (number | null)[] {
  const sums = new Float64Array(range.steps);
  const counts = new Uint32Array(range.steps);
  for (const p of points) {
    if (p.faulty || !Number.isFinite(p.rh)) continue;
    const k = Math.floor((p.tMs - range.startMs) / range.stepMs);
    if (k < 0 || k >= range.steps) continue;
    sums[k] = (sums[k] ?? 0) + p.rh;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return Array.from(sums, (s, k) => ((counts[k] ?? 0) > 0 ? s / (counts[k] ?? 1) : null));
}

export interface FillResult {
  /** Values with short interior gaps interpolated; longer gaps and the two ends stay null. */
  values: (number | null)[];
  /** How many steps were interpolated. */
  filled: number;
  /** The longest interior run of missing steps that was NOT filled (0 when every interior gap was filled). */
  longestUnfilled: number;
  /** Index of the first bucket of that run, or -1. */
  longestUnfilledAt: number;
}

/** Linear interpolation of interior gaps of at most maxFillSteps steps. */
export function interpolateGaps(buckets: (number | null)[], maxFillSteps: number): FillResult {
  const values = buckets.slice();
  let filled = 0;
  let longestUnfilled = 0;
  let longestUnfilledAt = -1;
  let prev = -1; // index of the last observed bucket
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const gap = i - prev - 1;
    const left = prev >= 0 ? values[prev] : null;
    if (gap > 0 && left !== null && left !== undefined) {
      if (gap <= maxFillSteps) {
        for (let j = 1; j <= gap; j++) values[prev + j] = left + ((v - left) * j) / (gap + 1);
        filled += gap;
      } else if (gap > longestUnfilled) {
        longestUnfilled = gap;
        longestUnfilledAt = prev + 1;
      }
    }
    prev = i;
  }
  return { values, filled, longestUnfilled, longestUnfilledAt };
}

export interface WindowRequest {
  stepS: number;
  windowSteps: number;
  maxFillSteps: number;
  /** Start of the window's last step, ms (a multiple of stepS * 1000). */
  lastStepStartMs: number;
}

export type WindowResult =
  | {
      ok: true;
      /** windowSteps values, oldest first. */
      values: number[];
      /**
       * Steps at the start copied from the oldest usable step: history shorter than the window,
       * or everything up to the end of the last gap longer than maxFillSteps (dropped, see below).
       */
      padded: number;
      /** Observed steps dropped because they lie before a gap longer than maxFillSteps. */
      droppedBeforeGap: number;
      /** Steps filled by interpolation or, at the end, by holding the newest step. */
      filled: number;
    }
  | { ok: false; reason: 'no_history' | 'too_many_gaps'; detail: string };

/**
 * The gateway's model input from raw history. Buckets after the last step (the step in
 * progress) only serve as the right end of an interpolation. Missing steps before the first
 * observed step are padded with its value (warming up); missing steps after the newest observed
 * one, up to maxFillSteps, hold its value. An interior gap longer than maxFillSteps does not
 * refuse the window: the history before the last such gap is dropped and the window is
 * left-padded as in warm-up (a gateway restart or an hour-long outage would otherwise block
 * forecasts until the gap leaves the window, 24 h for the shipped model). Only a trailing gap
 * longer than maxFillSteps refuses (too_many_gaps): then there is nothing recent to forecast from.
 */
export function assembleWindow(points: Iterable<ResamplePoint>, req: WindowRequest): WindowResult {
  const stepMs = req.stepS * 1000;
  const startMs = req.lastStepStartMs - (req.windowSteps - 1) * stepMs;
  // One extra bucket: the step in progress, used only as an interpolation anchor.
  const buckets = bucketMeans(points, { stepMs, startMs, steps: req.windowSteps + 1 });
  const { values, filled, longestUnfilled } = interpolateGaps(buckets, req.maxFillSteps);
  values.pop();
  let first = values.findIndex((v) => v !== null);
  if (first < 0) return { ok: false, reason: 'no_history', detail: 'no usable reading in the model window' };
  let last = values.length - 1;
  while (values[last] === null) last--;
  let droppedBeforeGap = 0;
  if (longestUnfilled > 0) {
    // Nulls left between the first and last observed steps are exactly the long gaps.
    let lastGapStep = -1;
    for (let i = last - 1; i > first; i--) {
      if (values[i] === null) {
        lastGapStep = i;
        break;
      }
    }
    if (lastGapStep > 0) {
      for (let i = first; i < lastGapStep; i++) if (values[i] !== null) droppedBeforeGap++;
      first = lastGapStep + 1;
    }
  }
  const trailing = values.length - 1 - last;
  if (trailing > req.maxFillSteps) {
    return { ok: false, reason: 'too_many_gaps', detail: `the last ${trailing} steps of ${req.stepS} s have no reading, more than max_fill_steps=${req.maxFillSteps}` };
  }
  const firstValue = values[first] as number;
  const lastValue = values[last] as number;
  const out = values.map((v, i) => (i < first ? firstValue : (v ?? lastValue)));
  return { ok: true, values: out, padded: first, filled: filled + trailing, droppedBeforeGap };
}
