import { describe, expect, it } from 'vitest';
import { cvConformal } from './cv-conformal.ts';
import { gram, gramScale } from './ridge.ts';
import type { Samples } from './ridge.ts';

/** Deterministic LCG so the test data is fixed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** y = 2 x0 - x1 + 0.5 (constant feature) + uniform noise in [-noise, noise]. */
function samples(n: number, noise: number, rand: () => number): Samples {
  const p = 3;
  const x = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const a = rand() * 4 - 2;
    const b = rand() * 4 - 2;
    x.set([a, b, 1], r * p);
    y[r] = 2 * a - b + 0.5 + (rand() * 2 - 1) * noise;
  }
  return { n, p, h: 1, x, y };
}

describe('cvConformal', () => {
  it('recovers the weights and gives offsets that cover ~80% of fresh data', () => {
    const rand = rng(7);
    const blocks = Array.from({ length: 5 }, () => samples(400, 1, rand));
    const scale = gramScale(gram(blocks[0] as Samples, false));
    const { qLo, qHi, fullFit, residuals } = cvConformal(blocks, [1e-6 * scale], scale, 0.8);
    expect(residuals).toBe(2000);
    expect(Array.from(fullFit.w).map((v) => Math.round(v * 10) / 10)).toEqual([2, -1, 0.5]);
    // Uniform noise on [-1, 1]: the central 80% interval is [-0.8, 0.8].
    expect(qLo[0]).toBeCloseTo(-0.8, 1);
    expect(qHi[0]).toBeCloseTo(0.8, 1);
    const fresh = samples(2000, 1, rand);
    let covered = 0;
    for (let r = 0; r < fresh.n; r++) {
      const pred = 2 * (fresh.x[r * 3] ?? 0) - (fresh.x[r * 3 + 1] ?? 0) + 0.5;
      const yv = fresh.y[r] ?? 0;
      if (yv >= pred + (qLo[0] ?? 0) && yv <= pred + (qHi[0] ?? 0)) covered++;
    }
    expect(covered / fresh.n).toBeGreaterThan(0.77);
    expect(covered / fresh.n).toBeLessThan(0.83);
  });

  it('refuses fewer than two non-empty blocks', () => {
    const rand = rng(1);
    expect(() => cvConformal([samples(50, 1, rand), samples(0, 1, rand)], [1], 1, 0.8)).toThrow(/at least two/);
  });
});
