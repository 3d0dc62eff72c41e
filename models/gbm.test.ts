import { describe, expect, it } from 'vitest';
import { fitGbmL1, predictGbm } from './gbm.ts';
import type { GbmOptions } from './gbm.ts';
import { boostedHorizons, interpolationMatrix } from './feature-ridge.ts';

const OPTS: GbmOptions = { rounds: 150, learningRate: 0.1, depth: 2, minLeaf: 10, bins: 32, subsample: 1, seed: 7 };

/** n rows of p features from a seeded LCG, so the tests need no fixture file. */
function rows(n: number, p: number, seed = 3): Float64Array {
  let s = seed;
  const x = new Float64Array(n * p);
  for (let i = 0; i < x.length; i++) {
    s = (s * 1664525 + 1013904223) % 4294967296;
    x[i] = s / 4294967296;
  }
  return x;
}

describe('absolute-error boosted trees (gbm.ts)', () => {
  it('learns a step in one feature and ignores the others', () => {
    const n = 2000;
    const x = rows(n, 3);
    const y = Float64Array.from({ length: n }, (_, r) => ((x[r * 3 + 1] ?? 0) < 0.4 ? -2 : 3));
    const m = fitGbmL1({ n, p: 3, x }, y, OPTS);
    expect(predictGbm(m, [0.5, 0.1, 0.5]).value).toBeCloseTo(-2, 1);
    expect(predictGbm(m, [0.5, 0.9, 0.5]).value).toBeCloseTo(3, 1);
    // Every split is on feature 1.
    for (const tree of m.trees) for (const node of tree) if (!('value' in node)) expect(node.feature).toBe(1);
  });

  it('fits the median, so a few huge outliers do not move it (squared error would)', () => {
    const n = 1000;
    const x = rows(n, 1);
    const y = Float64Array.from({ length: n }, (_, r) => (r % 50 === 0 ? 1000 : 1));
    const m = fitGbmL1({ n, p: 1, x }, y, OPTS);
    expect(m.base).toBe(1);
    for (const v of [0.05, 0.5, 0.95]) expect(predictGbm(m, [v]).value).toBeCloseTo(1, 6);
  });

  it('grows deep trees whose every leaf holds at least minLeaf rows (children histograms by subtraction count right)', () => {
    const n = 3000;
    const p = 5;
    const x = rows(n, p, 9);
    const y = Float64Array.from({ length: n }, (_, r) => Math.sin(8 * (x[r * p] ?? 0)) + (x[r * p + 2] ?? 0) * ((x[r * p + 4] ?? 0) > 0.5 ? 3 : -1));
    const opts: GbmOptions = { rounds: 20, learningRate: 0.2, depth: 5, minLeaf: 40, bins: 64, subsample: 1, seed: 1 };
    const m = fitGbmL1({ n, p, x }, y, opts);
    let leaves = 0;
    for (const tree of m.trees) {
      const held = new Map<number, number>();
      for (let r = 0; r < n; r++) {
        let at = 0;
        for (;;) {
          const node = tree[at]!;
          if ('value' in node) break;
          at = (x[r * p + node.feature] ?? 0) < node.threshold ? node.yes : node.no;
        }
        held.set(at, (held.get(at) ?? 0) + 1);
      }
      for (const count of held.values()) expect(count).toBeGreaterThanOrEqual(opts.minLeaf);
      leaves += held.size;
    }
    expect(leaves).toBeGreaterThan(20 * 16); // most trees split down to depth 4 or 5
  });

  it('is deterministic for a seed and differs with another seed when subsampling', () => {
    const n = 800;
    const x = rows(n, 2);
    const y = Float64Array.from({ length: n }, (_, r) => Math.sin(6 * (x[r * 2] ?? 0)) + (x[r * 2 + 1] ?? 0));
    const a = fitGbmL1({ n, p: 2, x }, y, { ...OPTS, subsample: 0.7 });
    const b = fitGbmL1({ n, p: 2, x }, y, { ...OPTS, subsample: 0.7 });
    const c = fitGbmL1({ n, p: 2, x }, y, { ...OPTS, subsample: 0.7, seed: 8 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it('puts thresholds between training values, as float32, and reports how close a row came', () => {
    const n = 500;
    const x = rows(n, 1);
    const y = Float64Array.from({ length: n }, (_, r) => ((x[r] ?? 0) < 0.5 ? 0 : 1));
    const m = fitGbmL1({ n, p: 1, x }, y, OPTS);
    const values = new Set(Array.from(x));
    for (const tree of m.trees) {
      for (const node of tree) {
        if ('value' in node) continue;
        expect(Math.fround(node.threshold)).toBe(node.threshold);
        expect(values.has(node.threshold)).toBe(false);
      }
    }
    const first = m.trees[0]?.[0];
    if (!first || 'value' in first) throw new Error('first tree has no split');
    expect(predictGbm(m, [first.threshold]).margin).toBe(0);
    expect(predictGbm(m, [first.threshold + 0.01]).margin).toBeGreaterThan(0);
  });

  it('refuses rows and targets of different lengths', () => {
    expect(() => fitGbmL1({ n: 3, p: 1, x: new Float64Array(3) }, new Float64Array(2), OPTS)).toThrow(/3 rows and 2 targets/);
  });
});

describe('boosted horizons and their interpolation (feature-ridge.ts)', () => {
  const H36 = Array.from({ length: 36 }, (_, i) => (i + 1) * 600);

  it('boosts 10 min, 30 min and 1..6 h of the default horizons, and every horizon of a short list', () => {
    expect(boostedHorizons(H36).map((i) => H36[i])).toEqual([600, 1800, 3600, 7200, 10800, 14400, 18000, 21600]);
    expect(boostedHorizons([3600, 7200, 10800])).toEqual([0, 1, 2]);
  });

  it('interpolates linearly in horizon seconds and reproduces the boosted horizons exactly', () => {
    const boosted = boostedHorizons(H36);
    const m = interpolationMatrix(H36, boosted);
    const corr = [1, 2, 4, 8, 16, 32, 64, 128];
    const at = (k: number): number => corr.reduce((a, c, s) => a + c * (m[s * 36 + k] ?? 0), 0);
    boosted.forEach((k, s) => expect(at(k)).toBeCloseTo(corr[s] ?? NaN, 6));
    // 1200 s is halfway between 600 (1) and 1800 (2); 5400 s halfway between 3600 (4) and 7200 (8).
    expect(at(1)).toBeCloseTo(1.5, 6);
    expect(at(8)).toBeCloseTo(6, 6);
    // Each column's weights sum to 1.
    for (let k = 0; k < 36; k++) expect(corr.map((_, s) => m[s * 36 + k] ?? 0).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });
});
