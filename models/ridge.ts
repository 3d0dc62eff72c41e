import { choleskySolve } from './linalg.ts';

/**
 * Direct multi-output ridge regression, closed form: solve (X'X + lambda I) W = X'Y.
 * Centred (the default): X and Y are centred on their means and b = mean(Y) - mean(X) W, so
 * the intercept is not penalised. Uncentred: b = 0, and a caller that wants a penalised
 * intercept adds a constant feature; then a large lambda shrinks every weight to zero, which in
 * the delta formulation is exactly persistence.
 */

/** A design matrix and targets, row-major. */
export interface Samples {
  n: number;
  /** Features per row. */
  p: number;
  /** Targets per row. */
  h: number;
  x: Float64Array;
  y: Float64Array;
}

export interface RidgeFit {
  /** p x h weights, row-major. */
  w: Float64Array;
  /** h intercepts. */
  b: Float64Array;
  /** The penalty (of the first output column when columns were fitted with different ones). */
  lambda: number;
}

/** The sufficient statistics of a ridge fit: centred X'X and X'Y and the means. */
export interface Gram {
  p: number;
  h: number;
  xtx: Float64Array;
  xty: Float64Array;
  xMean: Float64Array;
  yMean: Float64Array;
}

export function gram(s: Samples, center = true): Gram {
  const { n, p, h, x, y } = s;
  if (n === 0) throw new RangeError('ridge: no samples');
  const xMean = new Float64Array(p);
  const yMean = new Float64Array(h);
  for (let r = 0; center && r < n; r++) {
    for (let j = 0; j < p; j++) xMean[j] = (xMean[j] ?? 0) + (x[r * p + j] ?? 0) / n;
    for (let k = 0; k < h; k++) yMean[k] = (yMean[k] ?? 0) + (y[r * h + k] ?? 0) / n;
  }
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p * h);
  const xc = new Float64Array(p);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < p; j++) xc[j] = (x[r * p + j] ?? 0) - (xMean[j] ?? 0);
    for (let i = 0; i < p; i++) {
      const xi = xc[i] ?? 0;
      if (xi === 0) continue;
      for (let j = i; j < p; j++) xtx[i * p + j] = (xtx[i * p + j] ?? 0) + xi * (xc[j] ?? 0);
      for (let k = 0; k < h; k++) xty[i * h + k] = (xty[i * h + k] ?? 0) + xi * ((y[r * h + k] ?? 0) - (yMean[k] ?? 0));
    }
  }
  for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) xtx[i * p + j] = xtx[j * p + i] ?? 0;
  return { p, h, xtx, xty, xMean, yMean };
}

/** Mean of the diagonal of X'X: lambdas are given relative to it so one grid fits any data scale. */
export function gramScale(g: Gram): number {
  let t = 0;
  for (let i = 0; i < g.p; i++) t += g.xtx[i * g.p + i] ?? 0;
  return t / g.p || 1;
}

export function solveRidge(g: Gram, lambda: number): RidgeFit {
  if (!(lambda > 0)) throw new RangeError(`ridge: lambda must be positive, got ${lambda}`);
  const a = g.xtx.slice();
  for (let i = 0; i < g.p; i++) a[i * g.p + i] = (a[i * g.p + i] ?? 0) + lambda;
  const w = choleskySolve(a, g.p, g.xty, g.h);
  const b = new Float64Array(g.h);
  for (let k = 0; k < g.h; k++) {
    let s = g.yMean[k] ?? 0;
    for (let j = 0; j < g.p; j++) s -= (g.xMean[j] ?? 0) * (w[j * g.h + k] ?? 0);
    b[k] = s;
  }
  return { w, b, lambda };
}

/** Solves each output column with its own lambda (absolute values). */
export function solveRidgePerColumn(g: Gram, lambdas: number[]): RidgeFit {
  const w = new Float64Array(g.p * g.h);
  const b = new Float64Array(g.h);
  for (const lambda of new Set(lambdas)) {
    const fit = solveRidge(g, lambda);
    lambdas.forEach((l, k) => {
      if (l !== lambda) return;
      b[k] = fit.b[k] ?? 0;
      for (let j = 0; j < g.p; j++) w[j * g.h + k] = fit.w[j * g.h + k] ?? 0;
    });
  }
  return { w, b, lambda: lambdas[0] ?? 0 };
}

/** Predictions (n x h) of a fit on samples. */
export function predict(fit: RidgeFit, s: Samples): Float64Array {
  const out = new Float64Array(s.n * s.h);
  for (let r = 0; r < s.n; r++) {
    for (let k = 0; k < s.h; k++) {
      let v = fit.b[k] ?? 0;
      for (let j = 0; j < s.p; j++) v += (s.x[r * s.p + j] ?? 0) * (fit.w[j * s.h + k] ?? 0);
      out[r * s.h + k] = v;
    }
  }
  return out;
}

/** Mean absolute error per output column. */
export function maeByColumn(pred: Float64Array, y: Float64Array, n: number, h: number): number[] {
  const sums = new Array<number>(h).fill(0);
  for (let r = 0; r < n; r++) for (let k = 0; k < h; k++) sums[k] = (sums[k] ?? 0) + Math.abs((pred[r * h + k] ?? 0) - (y[r * h + k] ?? 0));
  return sums.map((s) => s / Math.max(1, n));
}

export interface LambdaSelection {
  fit: RidgeFit;
  /** Chosen lambda per output column. */
  lambdas: number[];
  validMae: number[];
  /** Mean validation MAE over outputs for each lambda tried. */
  tried: { lambda: number; mae: number }[];
}

/**
 * Fits on `train` for each lambda (relative to mean(diag(X'X))) and keeps, per output column,
 * the lambda with the lowest MAE on `valid`: short horizons want little shrinkage, long ones
 * much, and the columns are independent problems sharing one X'X.
 */
export function selectLambda(train: Samples, valid: Samples, relativeLambdas: number[], center = true): LambdaSelection {
  if (relativeLambdas.length === 0) throw new RangeError('ridge: no lambda to try');
  const g = gram(train, center);
  const scale = gramScale(g);
  const h = train.h;
  const w = new Float64Array(train.p * h);
  const b = new Float64Array(h);
  const lambdas = new Array<number>(h).fill(0);
  const validMae = new Array<number>(h).fill(Infinity);
  const tried: { lambda: number; mae: number }[] = [];
  for (const rel of relativeLambdas) {
    const fit = solveRidge(g, rel * scale);
    const mae = maeByColumn(predict(fit, valid), valid.y, valid.n, h);
    tried.push({ lambda: fit.lambda, mae: mae.reduce((a, v) => a + v, 0) / h });
    for (let k = 0; k < h; k++) {
      if ((mae[k] ?? Infinity) >= (validMae[k] ?? Infinity)) continue;
      validMae[k] = mae[k] ?? Infinity;
      lambdas[k] = fit.lambda;
      b[k] = fit.b[k] ?? 0;
      for (let j = 0; j < train.p; j++) w[j * h + k] = fit.w[j * h + k] ?? 0;
    }
  }
  return { fit: { w, b, lambda: lambdas[0] ?? 0 }, lambdas, validMae, tried };
}
