import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CsvSeries } from './csv.ts';
import { BOOSTED_GRAPH_NAME, readFeatureWeights } from './feature-onnx.ts';
import { checkFeatureGraph } from './graph-check.ts';
import { decodeModel } from './onnx-file.ts';
import { expectGraphMatchesReference, realWindows, trainOnFirstRows } from './test-fixtures.ts';
import type { FeatureTrainResult } from './train-features.ts';

/**
 * The boosted model (feature ridge + absolute-error trees in an ai.onnx.ml TreeEnsembleRegressor):
 * onnxruntime-node matches the TypeScript reference on every real window, the trees survive the
 * file round trip, and a changed leaf is caught. Trained with fewer rounds on the first 6,000
 * rows to keep the test short; the shipped model's check is in feature-ridge.test.ts.
 */

const TOLERANCE = 1e-4;
let csv: CsvSeries;
let trained: FeatureTrainResult;
let bytes: Uint8Array;

beforeAll(async () => {
  ({ csv, trained, bytes } = await trainOnFirstRows({ boost: true, gbm: { rounds: 40 } }));
}, 120_000);
afterAll(() => {
  bytes = new Uint8Array();
});

describe('boosted feature model', () => {
  it('runs in onnxruntime-node and matches the reference on every window (features, then outputs)', async () => {
    await expectGraphMatchesReference(bytes, trained.weights, csv, 2, 2000, TOLERANCE);
  });

  it('writes the trees to the file and reads the same trees back', () => {
    const model = decodeModel(bytes);
    expect(model.graph?.name).toBe(BOOSTED_GRAPH_NAME);
    expect(model.opsetImport?.map((o) => o.domain)).toContain('ai.onnx.ml');
    const back = readFeatureWeights(model, trained.contract);
    const boost = trained.weights.boost;
    if (!boost || !back.boost) throw new Error('no boosted stage');
    expect(back.boost.models).toHaveLength(boost.models.length);
    back.boost.models.forEach((m, s) => {
      const orig = boost.models[s];
      expect(m.trees).toHaveLength(40);
      expect(Math.fround(orig?.base ?? NaN)).toBe(m.base);
      m.trees.forEach((tree, t) =>
        tree.forEach((node, i) => {
          const o = orig?.trees[t]?.[i];
          if ('value' in node) expect(node.value).toBe(Math.fround(o && 'value' in o ? o.value : NaN));
          else expect(node).toEqual(o);
        }),
      );
    });
    expect(Array.from(back.boost.interp)).toEqual(Array.from(boost.interp));
  });

  it('catches a graph whose trees differ from the reference', async () => {
    const { rh, time } = realWindows(csv, 144, 20);
    const boost = trained.weights.boost;
    if (!boost) throw new Error('no boosted stage');
    const changed = { ...trained.weights, boost: { ...boost, models: boost.models.map((m, s) => (s === 7 ? { ...m, base: m.base + 0.05 } : m)) } };
    const check = await checkFeatureGraph(bytes, changed, rh, time);
    expect(check.featureDiff).toBeLessThan(TOLERANCE);
    expect(check.maxDiff).toBeGreaterThan(0.04);
  });

  it('is never worse than persistence on validation and beats it at 6 h on test, with intervals that cover', () => {
    const { validation, test } = trained.summary;
    for (const v of validation) expect(v.model).toBeLessThanOrEqual(v.persistence);
    const six = test.find((h) => h.horizon_s === 21_600);
    expect(six?.mae.model).toBeLessThan(six?.mae.persistence ?? 0);
    for (const h of test) expect(h.coverage).toBeGreaterThan(0.6);
    expect(trained.contract.modelVersion).toMatch(/^feature-boosted-RH_1-/);
  });
});
