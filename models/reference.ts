import { RH_MAX, RH_MIN } from '../firmware-bridge/messages.ts';

/**
 * The ridge model's forward pass in plain TypeScript: the documented reference the ONNX graph
 * (ridge-onnx.ts) must reproduce. For one window:
 *   last = rh[W-1];  d_k = rh[k] - last
 *   y    = last + sum_k d_k * wRh[k, :] + sin * wT[0, :] + cos * wT[1, :] + b
 *   lower = y + qLo;  upper = y + qHi;  all three clipped to [0, 100].
 */
export interface RidgeWeights {
  windowSteps: number;
  horizons: number;
  /** windowSteps x horizons, row-major. */
  wRh: Float32Array;
  /** 2 x horizons (sin row, cos row), row-major. */
  wT: Float32Array;
  b: Float32Array;
  /** Per-horizon lower and upper conformal offsets (residual quantiles). */
  qLo: Float32Array;
  qHi: Float32Array;
}

export interface ReferenceOutput {
  forecast: number[];
  lower: number[];
  upper: number[];
  /**
   * Tree models only: the smallest relative distance of a feature from a split threshold it was
   * compared with. The graph computes features in float32, the reference in float64, so a
   * window this close to a threshold (below NEAR_SPLIT) may take the other branch in the graph.
   */
  splitMargin?: number;
}

/** A feature this close to a split threshold (relative) may branch differently in float32. */
export const NEAR_SPLIT = 1e-5;

export function referenceForward(w: RidgeWeights, rh: ArrayLike<number>, time: readonly [number, number]): ReferenceOutput {
  if (rh.length !== w.windowSteps) throw new RangeError(`reference: window has ${rh.length} values, expected ${w.windowSteps}`);
  const H = w.horizons;
  const last = rh[w.windowSteps - 1] ?? 0;
  const forecast: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  for (let h = 0; h < H; h++) {
    let y = last + (w.b[h] ?? 0) + time[0] * (w.wT[h] ?? 0) + time[1] * (w.wT[H + h] ?? 0);
    for (let k = 0; k < w.windowSteps; k++) y += ((rh[k] ?? 0) - last) * (w.wRh[k * H + h] ?? 0);
    forecast.push(clipRh(y));
    lower.push(clipRh(y + (w.qLo[h] ?? 0)));
    upper.push(clipRh(y + (w.qHi[h] ?? 0)));
  }
  return { forecast, lower, upper };
}

/** A humidity clipped to the physical range, 0..100 %RH, as the graphs' Clip nodes do. */
export function clipRh(v: number): number {
  return Math.min(RH_MAX, Math.max(RH_MIN, v));
}
