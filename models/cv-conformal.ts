import { conformalOffsets } from './conformal.ts';
import { gram, gramScale, predict, solveRidgePerColumn } from './ridge.ts';
import type { Gram, RidgeFit, Samples } from './ridge.ts';

/**
 * Interval offsets from blocked cross-validation residuals instead of one validation split.
 *
 * Why: calibrating on the single period just before the test period gave 68-77% coverage for
 * nominal 80%: one 2-week period is a small, unrepresentative sample of the residual spread.
 * Here the calibration data is split into `blocks` chronological blocks; for each block the
 * ridge is refitted on all the other blocks (uncentred Gram matrices are additive, so each
 * refit costs one solve, not a pass over the data) with the chosen per-horizon penalties, and
 * the block's residuals are pooled. Split-conformal quantiles with the finite-sample rank
 * (conformal.ts) are then taken per horizon over all pooled residuals, which reflect every
 * period of the training file.
 */

/** Chronological CV blocks. Default 5: each refit still sees 80% of the data. */
export const DEFAULT_CV_BLOCKS = 5;

export interface CvResult {
  qLo: Float32Array;
  qHi: Float32Array;
  /** Pooled residuals per horizon. */
  residuals: number;
  /** The fit on every block together (the caller's final model). */
  fullFit: RidgeFit;
}

/**
 * `blocks`: samples of consecutive, non-overlapping periods (built with targetLimit so they
 * share no target). `lambdas`: absolute per-column penalties chosen on a Gram of scale
 * `lambdaScale` (gramScale of the Gram they were chosen on); they are rescaled to each refit's Gram.
 */
export function cvConformal(blocks: Samples[], lambdas: number[], lambdaScale: number, level: number): CvResult {
  const used = blocks.filter((b) => b.n > 0);
  if (used.length < 2) throw new RangeError('cvConformal: needs at least two non-empty blocks');
  const grams = used.map((b) => gram(b, false));
  const total = sumGrams(grams);
  const h = total.h;
  const residuals: number[][] = Array.from({ length: h }, () => []);
  used.forEach((block, i) => {
    const g = subtractGram(total, grams[i] as Gram);
    const fit = solveRidgePerColumn(g, lambdas.map((l) => (l * gramScale(g)) / lambdaScale));
    const pred = predict(fit, block);
    for (let r = 0; r < block.n; r++) for (let k = 0; k < h; k++) residuals[k]?.push((block.y[r * h + k] ?? 0) - (pred[r * h + k] ?? 0));
  });
  const qLo = new Float32Array(h);
  const qHi = new Float32Array(h);
  residuals.forEach((res, k) => {
    const q = conformalOffsets(res, level);
    qLo[k] = q.lo;
    qHi[k] = q.hi;
  });
  const fullFit = solveRidgePerColumn(total, lambdas.map((l) => (l * gramScale(total)) / lambdaScale));
  return { qLo, qHi, residuals: residuals[0]?.length ?? 0, fullFit };
}

function sumGrams(grams: Gram[]): Gram {
  const first = grams[0] as Gram;
  const out: Gram = { p: first.p, h: first.h, xtx: new Float64Array(first.xtx.length), xty: new Float64Array(first.xty.length), xMean: new Float64Array(first.p), yMean: new Float64Array(first.h) };
  for (const g of grams) {
    for (let i = 0; i < g.xtx.length; i++) out.xtx[i] = (out.xtx[i] ?? 0) + (g.xtx[i] ?? 0);
    for (let i = 0; i < g.xty.length; i++) out.xty[i] = (out.xty[i] ?? 0) + (g.xty[i] ?? 0);
  }
  return out;
}

function subtractGram(a: Gram, b: Gram): Gram {
  return { ...a, xtx: a.xtx.map((v, i) => v - (b.xtx[i] ?? 0)), xty: a.xty.map((v, i) => v - (b.xty[i] ?? 0)) };
}
