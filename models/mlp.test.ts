import { describe, expect, it } from 'vitest';
import { averageNets, DEFAULT_MLP_OPTIONS, fitMlp, predictMlp } from './mlp.ts';
import type { MlpOptions } from './mlp.ts';
import { mulberry32 } from './random.ts';
import { chooseMix, DEFAULT_NEURAL_OPTIONS, fitNeural } from './train-neural.ts';
import type { AnchoredSamples } from './series.ts';

const OPTS: MlpOptions = { ...DEFAULT_MLP_OPTIONS, hidden: 16, alpha: 1e-3, maxEpochs: 200, patience: 20, seed: 5 };

/** Inputs uniform in [-1, 1] from a seeded generator; targets from `f`. */
function data(n: number, p: number, f: (x: number[]) => number[], seed = 9): { x: Float64Array; y: Float64Array; q: number } {
  const rand = mulberry32(seed);
  const x = Float64Array.from({ length: n * p }, () => 2 * rand() - 1);
  const rowsOut = Array.from({ length: n }, (_, r) => f(Array.from(x.subarray(r * p, (r + 1) * p))));
  const q = rowsOut[0]?.length ?? 0;
  return { x, y: Float64Array.from(rowsOut.flat()), q };
}

function mse(pred: (row: Float64Array) => number[], d: { x: Float64Array; y: Float64Array; q: number }, p: number): number {
  const n = d.x.length / p;
  let e = 0;
  for (let r = 0; r < n; r++) pred(d.x.subarray(r * p, (r + 1) * p)).forEach((v, k) => (e += (v - (d.y[r * d.q + k] ?? 0)) ** 2));
  return e / (n * d.q);
}

describe('small neural network (mlp.ts)', () => {
  // Two outputs no linear model can fit: |x0| and max(0, x1) - x2^2 (variances about 0.08 and 0.1).
  const target = (x: number[]): number[] => [Math.abs(x[0] ?? 0), Math.max(0, x[1] ?? 0) - (x[2] ?? 0) ** 2];

  it('learns a nonlinear multi-output function on rows it never saw', () => {
    const train = data(3000, 4, target, 1);
    const held = data(1000, 4, target, 2);
    const fit = fitMlp(train.x, train.y, 3000, 4, 2, OPTS);
    const zero = mse(() => [0.5, 0.0], held, 4);
    const err = mse((row) => predictMlp(fit.net, row), held, 4);
    expect(err).toBeLessThan(0.05 * zero);
    expect(fit.bestEpoch).toBeLessThanOrEqual(fit.epochs);
  });

  it('is deterministic for a seed, and another seed gives another network', () => {
    const d = data(500, 4, target);
    const a = fitMlp(d.x, d.y, 500, 4, 2, { ...OPTS, maxEpochs: 20 });
    const b = fitMlp(d.x, d.y, 500, 4, 2, { ...OPTS, maxEpochs: 20 });
    const c = fitMlp(d.x, d.y, 500, 4, 2, { ...OPTS, maxEpochs: 20, seed: 6 });
    expect(Array.from(a.net.w1)).toEqual(Array.from(b.net.w1));
    expect(Array.from(a.net.w2)).toEqual(Array.from(b.net.w2));
    expect(Array.from(a.net.w1)).not.toEqual(Array.from(c.net.w1));
  });

  it('shrinks its weights as the L2 penalty grows', () => {
    const d = data(1000, 4, target);
    const norm = (alpha: number): number => {
      const { net } = fitMlp(d.x, d.y, 1000, 4, 2, { ...OPTS, alpha, maxEpochs: 60, patience: 60 });
      return [...net.w1, ...net.w2].reduce((a, v) => a + v * v, 0);
    };
    expect(norm(100)).toBeLessThan(0.5 * norm(0.001));
  });

  it('stops when the held-out loss has not improved for `patience` epochs (targets of pure noise)', () => {
    const rand = mulberry32(4);
    const d = data(600, 4, () => [rand(), rand()]);
    const fit = fitMlp(d.x, d.y, 600, 4, 2, { ...OPTS, patience: 3, maxEpochs: 300 });
    expect(fit.epochs).toBeLessThan(300);
    expect(fit.epochs).toBe(fit.bestEpoch + 3);
  });

  it('averages networks exactly as one wider network', () => {
    const d = data(400, 4, target);
    const nets = [5, 6, 7].map((seed) => fitMlp(d.x, d.y, 400, 4, 2, { ...OPTS, seed, maxEpochs: 10 }).net);
    const wide = averageNets(nets);
    expect(wide.hidden).toBe(3 * OPTS.hidden);
    for (let r = 0; r < 20; r++) {
      const row = d.x.subarray(r * 4, (r + 1) * 4);
      const mean = [0, 1].map((k) => nets.reduce((a, n) => a + (predictMlp(n, row)[k] ?? 0), 0) / nets.length);
      predictMlp(wide, row).forEach((v, k) => expect(v).toBeCloseTo(mean[k] ?? NaN, 12));
    }
  });

  it('refuses targets that make the loss NaN instead of returning its random starting weights', () => {
    const d = data(200, 4, target);
    d.y[17] = NaN;
    expect(() => fitMlp(d.x, d.y, 200, 4, 2, { ...OPTS, holdout: 1 / 2, patience: 2 })).toThrow(/held-out loss was never finite \(NaN after 2 epochs\)/);
  });

  it('refuses too few rows with a message', () => {
    expect(() => fitMlp(new Float64Array(5), new Float64Array(5), 5, 1, 1, OPTS)).toThrow(/at least 10 rows, got 5/);
  });
});

describe('the network share per horizon (train-neural.ts chooseMix)', () => {
  it('gives the network almost no share when it errs far more, all of it when it is right, and about half when both err alike', () => {
    const rand = mulberry32(3);
    const n = 2000;
    const H = 3;
    const truth = Float64Array.from({ length: n * H }, () => 50 + 10 * rand());
    const noisy = (): Float64Array => truth.map((t) => t + 4 * (rand() - 0.5) * 2);
    const model = noisy();
    const network = Float64Array.from(truth);
    const independent = noisy();
    for (let r = 0; r < n; r++) {
      network[r * H] = (truth[r * H] ?? 0) + 40 * (rand() - 0.5); // horizon 0: errors five times the model's
      network[r * H + 2] = independent[r * H + 2] ?? 0; // horizon 2: as good as the model, errors independent
    }
    const mix = chooseMix(model, network, truth, H);
    expect(mix[0]).toBeLessThanOrEqual(0.1);
    expect(mix[1]).toBe(1);
    expect(mix[2]).toBeGreaterThanOrEqual(0.35);
    expect(mix[2]).toBeLessThanOrEqual(0.65);
  });
});

describe('the neural member (train-neural.ts fitNeural)', () => {
  const n = 300;
  const H = 2;
  const rand = mulberry32(8);
  const f = Float64Array.from({ length: n * 3 }, () => rand());
  const base = Float64Array.from({ length: n }, (_, r) => 40 + 10 * (f[r * 3] ?? 0));
  const targetsRh = Float64Array.from({ length: n * H }, (_, i) => (base[Math.floor(i / H)] ?? 0) + 5 * (f[Math.floor(i / H) * 3 + 1] ?? 0) + 1);
  const samples = (t: Float64Array): AnchoredSamples => ({ n, p: 1, h: H, x: new Float64Array(n), y: new Float64Array(n * H), base, targetsRh: t, anchors: [] });
  const opts = { ...DEFAULT_NEURAL_OPTIONS, seeds: 2, mlp: { ...DEFAULT_NEURAL_OPTIONS.mlp, maxEpochs: 300, learningRate: 0.01 } };

  it('folds standardisation and target scale into weights that forecast deltas in %RH', () => {
    const { stage } = fitNeural({ raw: { f, p: 3 }, s: samples(targetsRh) }, 1e-3, opts);
    expect(stage.hidden).toBe(2 * opts.mlp.hidden);
    let err = 0;
    let spread = 0;
    for (let r = 0; r < n; r++) {
      const row = f.subarray(r * 3, r * 3 + 3);
      // the raw-feature forward pass of the folded float32 weights
      const out = Array.from(stage.b2);
      for (let j = 0; j < stage.hidden; j++) {
        let z = stage.b1[j] ?? 0;
        for (let c = 0; c < 3; c++) z += (row[c] ?? 0) * (stage.w1[c * stage.hidden + j] ?? 0);
        if (z > 0) for (let k = 0; k < H; k++) out[k] = (out[k] ?? 0) + z * (stage.w2[j * H + k] ?? 0);
      }
      const delta = (targetsRh[r * H] ?? 0) - (base[r] ?? 0);
      err += Math.abs((out[0] ?? 0) - delta);
      spread += Math.abs(delta);
    }
    expect(err).toBeLessThan(0.25 * spread);
  });

  it('names the network that failed when a target is not a number', () => {
    const bad = Float64Array.from(targetsRh);
    bad[5] = NaN;
    expect(() => fitNeural({ raw: { f, p: 3 }, s: samples(bad) }, 10, opts)).toThrow(expect.objectContaining({ code: 'TRAINING_FAILED', message: expect.stringMatching(/^neural network \(L2 10, seed 1, 300 windows\): the network's held-out loss was never finite/) }));
  });
});
