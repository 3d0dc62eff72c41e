import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvColumn } from './csv.ts';
import type { CsvSeries } from './csv.ts';
import { buildFeatureModel, ENSEMBLE_GRAPH_NAME, readFeatureWeights } from './feature-onnx.ts';
import { featureReferenceForward } from './feature-ridge.ts';
import type { FeatureRidgeWeights } from './feature-ridge.ts';
import { computeFeatures, featureLayout, HARMONICS, linearMatrix, timeHarmonics } from './feature-set.ts';
import { decodeModel, readModelFile } from './onnx-file.ts';
import { openSession } from './ort-run.ts';
import { maxForwardDiff } from './self-check.ts';
import { APPLIANCES_CSV, expectGraphMatchesReference, realWindows, REPO_ROOT, tempDir } from './test-fixtures.ts';
import type { TempDir } from './test-fixtures.ts';
import { trainFeatureRidge } from './train-features.ts';
import type { FeatureTrainResult } from './train-features.ts';

/**
 * Required CI test for the feature-ridge model: onnxruntime-node running the graph (features
 * computed inside it) matches the plain-TypeScript reference within 1e-4 %RH on real windows,
 * for a freshly trained model and for the shipped one; plus the trainer's guarantees.
 */

const TOLERANCE = 1e-4;
let csv: CsvSeries;
let tmp: TempDir;
let trained: FeatureTrainResult;
const sessions: ort.InferenceSession[] = [];

beforeAll(async () => {
  csv = await readCsvColumn(APPLIANCES_CSV, 'RH_1');
  tmp = await tempDir();
  trained = trainFeatureRidge(csv, { now: () => Date.UTC(2026, 0, 1) });
});
afterAll(async () => {
  for (const s of sessions) await s.release();
  await tmp.remove();
});

async function session(file: string): Promise<ort.InferenceSession> {
  const s = await openSession(file);
  sessions.push(s);
  return s;
}

const diffOf = async (file: string, w: FeatureRidgeWeights, every: number): Promise<number> => {
  const { rh, time } = realWindows(csv, w.windowSteps, every);
  return maxForwardDiff(await session(file), w.windowSteps, w.horizons, (x, t) => featureReferenceForward(w, x, t), rh, time);
};

describe('features (feature-set.ts)', () => {
  it('computes the documented features of a ramp by hand', () => {
    // 12 steps of 10 min: means over 6 and 12 steps, lags 1,2,3,6, first steps 0,3,6, 11 step changes.
    const l = featureLayout(600, 12);
    expect(l.meanSteps).toEqual([6, 12]);
    expect(l.lags).toEqual([1, 2, 3, 6]);
    expect(l.firstSteps).toEqual([0, 3, 6]);
    expect(l.volSteps).toBe(11);
    const rh = Array.from({ length: 12 }, (_, k) => 40 + 2 * k); // last 62, every step +2
    const f = computeFeatures(l, rh, [0.5, -0.5]);
    const m1 = -5; // mean of -10, -8, ..., 0
    const m2 = -11;
    expect(f).toEqual([m1, m2, -2, -4, -6, -12, -22, -16, -10, 62, 0.5, -0.5, 2, 31, -31, 1, -1, m1 * 0.5, -m1 * 0.5, m1 * 62, m2 * 62, m1 * 2, m2 * 2, 5, 11, -0.5, 0, 0.25, 0.25, 0, -0.25]);
    expect(f).toHaveLength(l.total);
  });

  it('the time-of-day harmonics are sin kx and cos kx', () => {
    for (const x of [0, 0.3, 1.7, Math.PI, 5.9]) {
      const h = timeHarmonics(Math.sin(x), Math.cos(x));
      expect(h).toHaveLength(2 * (HARMONICS - 1));
      for (let k = 2; k <= HARMONICS; k++) {
        expect(h[2 * (k - 2)]).toBeCloseTo(Math.sin(k * x), 12);
        expect(h[2 * (k - 2) + 1]).toBeCloseTo(Math.cos(k * x), 12);
      }
    }
  });

  it('the fixed matrix of the graph gives the same linear block as the reference', () => {
    const l = featureLayout(600, 144);
    const a = linearMatrix(l);
    const rh = Array.from({ length: 144 }, (_, k) => 50 + 10 * Math.sin(k / 7) + (k % 5));
    const last = rh[143] ?? 0;
    const f = computeFeatures(l, rh, [0, 1]);
    for (let c = 0; c < l.linear; c++) {
      let v = 0;
      for (let k = 0; k < 144; k++) v += ((rh[k] ?? 0) - last) * (a[k * l.linear + c] ?? 0);
      expect(v).toBeCloseTo(f[c] ?? NaN, 4);
    }
  });

  it('refuses a window too short for any multi-scale mean', () => {
    expect(() => featureLayout(100_000, 2)).toThrow(/holds no multi-scale mean/);
    expect(() => trainFeatureRidge(csv, { stepS: 100_000, windowSteps: 2, horizonsS: [100_000] })).toThrow(expect.objectContaining({ code: 'DATA_INVALID' }));
  });
});

describe('ONNX feature-ridge graph vs TypeScript reference', () => {
  it('matches within 1e-4 on real windows for a freshly trained model', async () => {
    const file = await tmp.write('feature.onnx', buildFeatureModel(trained.weights, trained.contract));
    expect(realWindows(csv, 144, 5).n).toBeGreaterThan(2000);
    expect(await diffOf(file, trained.weights, 5)).toBeLessThan(TOLERANCE);
    expect(Math.max(...Array.from(trained.weights.wF, Math.abs))).toBeGreaterThan(1e-3);
    // The stored weights round-trip through the file.
    const back = readFeatureWeights(decodeModel(await readFile(file)), trained.contract);
    expect(Array.from(back.wF)).toEqual(Array.from(trained.weights.wF));
    expect(back.scaleFloor).toBeCloseTo(trained.weights.scaleFloor, 6);
  });

  it('detects a graph that differs from the reference (bias or interval scale)', async () => {
    const file = await tmp.write('feature2.onnx', buildFeatureModel(trained.weights, trained.contract));
    expect(await diffOf(file, { ...trained.weights, b: trained.weights.b.map((v) => v + 0.01) }, 50)).toBeGreaterThan(0.005);
    expect(await diffOf(file, { ...trained.weights, scaleFloor: trained.weights.scaleFloor + 0.1 }, 50)).toBeGreaterThan(0.005);
  });

  it('the shipped model is an ensemble feature model (ridge, trees, network) and matches the reference from its stored weights on every window', async () => {
    const shipped = path.join(REPO_ROOT, 'models/hygrocast-rh.onnx');
    const info = await readModelFile(shipped);
    expect(info.problems).toEqual([]);
    const c = info.contract;
    if (!c) throw new Error('shipped model has no contract');
    const bytes = await readFile(shipped);
    const model = decodeModel(bytes);
    expect(model.graph?.name).toBe(ENSEMBLE_GRAPH_NAME);
    const w = readFeatureWeights(model, c);
    expect(w.boost?.models).toHaveLength(8);
    expect(w.neural?.hidden).toBe(96);
    expect(Math.max(...(w.neural?.mix ?? []))).toBeGreaterThan(0);
    await expectGraphMatchesReference(bytes, w, csv, 5, 2000, TOLERANCE);
  });
});

describe('trainFeatureRidge on real data', () => {
  it('shrinks toward persistence so validation error never exceeds persistence, and beats it at 6 h on test', () => {
    const { alphas, validation, test } = trained.summary;
    expect(alphas).toHaveLength(36);
    for (const a of alphas) expect(a >= 0 && a <= 1).toBe(true);
    for (const v of validation) expect(v.model).toBeLessThanOrEqual(v.persistence);
    // Not all horizons shrunk to nothing: the model does something.
    expect(Math.max(...alphas)).toBeGreaterThan(0.5);
    const six = test.find((h) => h.horizon_s === 21_600);
    expect(six?.mae.model).toBeLessThan(six?.mae.persistence ?? 0);
    for (const h of test) expect(h.coverage).toBeGreaterThan(0.6);
  });

  it('alpha 0 (all weights zero) is exactly persistence', () => {
    const w = { ...trained.weights, wF: new Float32Array(trained.weights.wF.length), b: new Float32Array(36) };
    const rh = Array.from({ length: 144 }, (_, k) => 40 + (k % 7));
    expect(new Set(featureReferenceForward(w, rh, [0, 1]).forecast)).toEqual(new Set([rh[143]]));
  });

  it('widens the interval when the recent window is volatile', () => {
    const flat = Array.from({ length: 144 }, () => 50);
    const noisy = Array.from({ length: 144 }, (_, k) => 50 + (k % 2 === 0 ? 2 : -2));
    const width = (rh: number[]): number => {
      const o = featureReferenceForward(trained.weights, rh, [0, 1]);
      return (o.upper[35] ?? 0) - (o.lower[35] ?? 0);
    };
    expect(width(noisy)).toBeGreaterThan(2 * width(flat));
    expect(width(flat)).toBeGreaterThan(0);
  });

  it('refuses too little data with TRAINING_FAILED', () => {
    const small = { ...csv, timesMs: csv.timesMs.slice(0, 200), values: csv.values.slice(0, 200) };
    expect(() => trainFeatureRidge(small)).toThrow(expect.objectContaining({ code: 'TRAINING_FAILED' }));
  });
});
