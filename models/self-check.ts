import type ort from 'onnxruntime-node';
import type { RidgeWeights } from './reference.ts';
import type { ReferenceOutput } from './reference.ts';
import { NEAR_SPLIT, referenceForward } from './reference.ts';
import { runBatch } from './ort-run.ts';

/** One window's reference computation: window in %RH and [sin, cos] to the three outputs. */
export type ReferenceFn = (rh: ArrayLike<number>, time: readonly [number, number]) => ReferenceOutput;

/**
 * Largest absolute difference between onnxruntime's outputs and the TypeScript reference over
 * a set of windows (n x W values, n x 2 time features). Used by the trainer after writing a
 * model and by the tests; float32 arithmetic in the graph keeps it well under 1e-4 %RH.
 */
export async function maxReferenceDiff(session: ort.InferenceSession, w: RidgeWeights, rh: Float32Array, time: Float32Array): Promise<number> {
  return maxForwardDiff(session, w.windowSteps, w.horizons, (x, t) => referenceForward(w, x, t), rh, time);
}

/** maxReferenceDiff for any model with a reference function (e.g. feature-ridge.ts). */
export async function maxForwardDiff(session: ort.InferenceSession, W: number, H: number, reference: ReferenceFn, rh: Float32Array, time: Float32Array): Promise<number> {
  return (await forwardDiff(session, W, H, reference, rh, time)).maxDiff;
}

export interface ForwardDiff {
  /** Largest absolute difference over the windows compared, %RH. */
  maxDiff: number;
  /** Windows compared. */
  compared: number;
  /**
   * Windows left out because a feature lay within NEAR_SPLIT of a tree threshold: the graph's
   * float32 features may branch the other way there, which is rounding, not a wrong graph.
   */
  nearSplit: number;
}

export async function forwardDiff(session: ort.InferenceSession, W: number, H: number, reference: ReferenceFn, rh: Float32Array, time: Float32Array): Promise<ForwardDiff> {
  const out = await runBatch(session, W, rh, time);
  let worst = 0;
  let compared = 0;
  let nearSplit = 0;
  for (let r = 0; r < rh.length / W; r++) {
    const ref = reference(rh.subarray(r * W, (r + 1) * W), [time[r * 2] ?? 0, time[r * 2 + 1] ?? 0]);
    if (ref.splitMargin !== undefined && ref.splitMargin < NEAR_SPLIT) {
      nearSplit++;
      continue;
    }
    compared++;
    for (let k = 0; k < H; k++) {
      const i = r * H + k;
      worst = Math.max(
        worst,
        Math.abs((out.forecast[i] ?? NaN) - (ref.forecast[k] ?? NaN)),
        Math.abs((out.lower[i] ?? NaN) - (ref.lower[k] ?? NaN)),
        Math.abs((out.upper[i] ?? NaN) - (ref.upper[k] ?? NaN)),
      );
      if (Number.isNaN(worst)) return { maxDiff: NaN, compared, nearSplit };
    }
  }
  return { maxDiff: worst, compared, nearSplit };
}
