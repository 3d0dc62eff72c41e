import { beforeAll, describe, expect, it } from 'vitest';
import type { CsvSeries } from './csv.ts';
import { buildFeatureModel, ENSEMBLE_GRAPH_NAME, readFeatureWeights } from './feature-onnx.ts';
import { featureReferenceForward } from './feature-ridge.ts';
import type { FeatureRidgeWeights, NeuralStage } from './feature-ridge.ts';
import { computeFeatures, featureLayout } from './feature-set.ts';
import { checkFeatureGraph } from './graph-check.ts';
import { DEFAULT_MLP_OPTIONS, predictMlp } from './mlp.ts';
import { decodeModel, encodeModel } from './onnx-file.ts';
import { expectGraphMatchesReference, realWindows, trainOnFirstRows } from './test-fixtures.ts';
import type { FeatureTrainResult } from './train-features.ts';

/**
 * The ensemble model (the boosted model averaged per horizon with a small neural network,
 * MatMul/Relu in the graph): onnxruntime-node matches the TypeScript reference on every real
 * window, the network survives the file round trip, a changed weight is caught, and the mix
 * works at both ends. Trained small (one seed, 30 epochs, 20 tree rounds, first 6,000 rows)
 * to keep the test short; the shipped model's check is in feature-ridge.test.ts.
 */

const TOLERANCE = 1e-4;
let csv: CsvSeries;
let trained: FeatureTrainResult;
let bytes: Uint8Array;

beforeAll(async () => {
  ({ csv, trained, bytes } = await trainOnFirstRows({ boost: true, gbm: { rounds: 20 }, neural: { alphas: [3, 30], seeds: 1, mlp: { ...DEFAULT_MLP_OPTIONS, maxEpochs: 30 } } }));
}, 180_000);

function neural(w: FeatureRidgeWeights): NeuralStage {
  if (!w.neural) throw new Error('no neural stage');
  return w.neural;
}

describe('ensemble feature model', () => {
  it('runs in onnxruntime-node and matches the reference on every window', async () => {
    await expectGraphMatchesReference(bytes, trained.weights, csv, 2, 2000, TOLERANCE);
  });

  it('writes the network to the file and reads the same weights and mix back', () => {
    const model = decodeModel(bytes);
    expect(model.graph?.name).toBe(ENSEMBLE_GRAPH_NAME);
    expect(model.graph?.node?.map((x) => x.opType)).toContain('Relu');
    const back = neural(readFeatureWeights(model, trained.contract));
    const orig = neural(trained.weights);
    expect(back.hidden).toBe(DEFAULT_MLP_OPTIONS.hidden);
    for (const key of ['w1', 'b1', 'w2', 'b2', 'mix'] as const) expect(Array.from(back[key])).toEqual(Array.from(orig[key]));
    expect(readFeatureWeights(model, trained.contract).boost?.models).toHaveLength(8);
  });

  it('catches a graph whose network differs from the reference', async () => {
    const { rh, time } = realWindows(csv, 144, 20);
    const n = neural(trained.weights);
    const last = n.mix.length - 1;
    expect(n.mix[last]).toBeGreaterThan(0);
    const b2 = Float32Array.from(n.b2);
    b2[last] = (b2[last] ?? 0) + 0.5;
    const check = await checkFeatureGraph(bytes, { ...trained.weights, neural: { ...n, b2 } }, rh, time);
    expect(check.maxDiff).toBeGreaterThan(0.5 * (n.mix[last] ?? 0) - 1e-3);
  });

  it('at mix 0 is the boosted model, at mix 1 the network alone', async () => {
    const { rh, time, n } = realWindows(csv, 144, 25);
    const w = trained.weights;
    const nn = neural(w);
    const at = (m: number): FeatureRidgeWeights => ({ ...w, neural: { ...nn, mix: new Float32Array(nn.mix.length).fill(m) } });
    const zeroBytes = encodeModel(buildFeatureModel(at(0), trained.contract));
    const boostedOnly: FeatureRidgeWeights = { ...w, neural: undefined };
    expect((await checkFeatureGraph(zeroBytes, boostedOnly, rh, time)).maxDiff).toBeLessThan(TOLERANCE);
    // mix 1: the reference forecast is last + the network's delta, computed here directly.
    const layout = featureLayout(w.stepS, w.windowSteps);
    for (let r = 0; r < n; r += 7) {
      const window = rh.subarray(r * 144, (r + 1) * 144);
      const t: [number, number] = [time[r * 2] ?? 0, time[r * 2 + 1] ?? 0];
      const direct = predictMlp(nn, computeFeatures(layout, window, t));
      const out = featureReferenceForward(at(1), window, t);
      out.forecast.forEach((v, k) => expect(v).toBeCloseTo(Math.min(100, Math.max(0, (window[143] ?? 0) + (direct[k] ?? 0))), 4));
    }
    const oneBytes = encodeModel(buildFeatureModel(at(1), trained.contract));
    expect((await checkFeatureGraph(oneBytes, at(1), rh, time)).maxDiff).toBeLessThan(TOLERANCE);
  });

  it('reports the penalty it chose from those tried and a share per horizon in [0, 1]', () => {
    const s = trained.summary.neural;
    if (!s) throw new Error('no neural summary');
    expect(s.alphas_tried.map((t) => t.alpha)).toEqual([3, 30]);
    const best = s.alphas_tried.reduce((a, t) => (t.mae < a.mae ? t : a));
    expect(s.alpha).toBe(best.alpha);
    expect(s.mix).toHaveLength(36);
    for (const m of s.mix) expect(m >= 0 && m <= 1).toBe(true);
    expect(s.mean_epochs).toBeLessThanOrEqual(30);
    expect(trained.contract.modelVersion).toMatch(/^feature-ensemble-RH_1-/);
    for (const v of trained.summary.validation) expect(v.model).toBeLessThanOrEqual(v.persistence);
  });
});
