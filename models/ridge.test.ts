import { describe, expect, it } from 'vitest';
import { choleskySolve } from './linalg.ts';
import { conformalOffsets } from './conformal.ts';
import { mulberry32 } from './random.ts';
import { gram, maeByColumn, predict, selectLambda, solveRidge } from './ridge.ts';
import type { Samples } from './ridge.ts';

/** Deterministic pseudo-random numbers so the test data is the same every run. */
const rng = mulberry32;

/** y_k = x . w_k + b_k + noise for two outputs with known weights. */
function synthetic(n: number, noise: number, seed: number): { s: Samples; w: number[][]; b: number[] } {
  const w = [
    [2, -1, 0.5, 0],
    [-3, 0, 1, 4],
  ];
  const b = [10, -5];
  const rand = rng(seed);
  const p = 4;
  const h = 2;
  const x = new Float64Array(n * p);
  const y = new Float64Array(n * h);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < p; j++) x[r * p + j] = rand() * 4 - 2;
    for (let k = 0; k < h; k++) {
      let v = b[k] ?? 0;
      for (let j = 0; j < p; j++) v += (x[r * p + j] ?? 0) * (w[k]?.[j] ?? 0);
      y[r * h + k] = v + (rand() - 0.5) * noise;
    }
  }
  return { s: { n, p, h, x, y }, w, b };
}

describe('ridge', () => {
  it('recovers a known linear relation with a small lambda', () => {
    const { s, w, b } = synthetic(2000, 0.01, 1);
    const fit = solveRidge(gram(s), 1e-6);
    for (let k = 0; k < 2; k++) {
      for (let j = 0; j < 4; j++) expect(fit.w[j * 2 + k]).toBeCloseTo(w[k]?.[j] ?? NaN, 3);
      expect(fit.b[k]).toBeCloseTo(b[k] ?? NaN, 3);
    }
  });

  it('shrinks weights toward zero as lambda grows', () => {
    const { s } = synthetic(500, 0.1, 2);
    const g = gram(s);
    const norm = (l: number) => solveRidge(g, l).w.reduce((a, v) => a + v * v, 0);
    expect(norm(1e4)).toBeLessThan(norm(1));
    expect(norm(1e9)).toBeLessThan(1e-6);
  });

  it('without centring, a huge lambda predicts zero (persistence in the delta formulation)', () => {
    const { s } = synthetic(200, 0.1, 3);
    const pred = predict(solveRidge(gram(s, false), 1e12), s);
    expect(Math.max(...Array.from(pred, Math.abs))).toBeLessThan(1e-6);
  });

  it('picks, per output, the lambda with the lowest validation error', () => {
    const train = synthetic(300, 4, 4).s;
    const valid = synthetic(300, 4, 5).s;
    const grid = [1e-8, 1e-2, 1e3, 1e6];
    const sel = selectLambda(train, valid, grid);
    const g = gram(train);
    const scale = sel.tried.map((t, i) => t.lambda / (grid[i] ?? 1))[0] ?? 1;
    const perLambda = grid.map((l) => maeByColumn(predict(solveRidge(g, l * scale), valid), valid.y, valid.n, valid.h));
    const chosen = maeByColumn(predict(sel.fit, valid), valid.y, valid.n, valid.h);
    for (let k = 0; k < 2; k++) {
      expect(chosen[k]).toBeCloseTo(sel.validMae[k] ?? NaN, 12);
      expect(chosen[k]).toBeCloseTo(Math.min(...perLambda.map((m) => m[k] ?? Infinity)), 12);
    }
    // The largest lambda flattens the fit: its error is far above the chosen one.
    expect(perLambda[3]?.[0]).toBeGreaterThan((chosen[0] ?? 0) * 2);
  });

  it('Cholesky solves a small SPD system and rejects an indefinite one', () => {
    const x = choleskySolve(Float64Array.of(4, 2, 2, 3), 2, Float64Array.of(2, 1), 1);
    expect(Array.from(x)).toEqual([0.5, 0].map((v) => expect.closeTo(v, 12)));
    expect(() => choleskySolve(Float64Array.of(1, 2, 2, 1), 2, Float64Array.of(1, 1), 1)).toThrow(/not positive definite/);
  });

  it('split-conformal offsets bracket the central 80% of residuals', () => {
    const residuals = Array.from({ length: 99 }, (_, i) => i - 49); // -49..49
    const q = conformalOffsets(residuals, 0.8);
    expect(q).toEqual({ lo: -40, hi: 40 });
    expect(residuals.filter((r) => r >= q.lo && r <= q.hi).length / residuals.length).toBeGreaterThanOrEqual(0.8);
  });
});
