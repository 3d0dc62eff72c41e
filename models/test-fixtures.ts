import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CONTRACT_VERSION, contractToMetadata, INPUT_RH, INPUT_TIME, OUTPUT_NAMES } from './contract.ts';
import type { ModelContract } from './contract.ts';
import { encodeModel, floatTensor, floatValueInfo, node, writeModelFile } from './onnx-file.ts';
import { readCsvColumn } from './csv.ts';
import { buildFeatureModel } from './feature-onnx.ts';
import { trainFeatureRidge } from './train-features.ts';
import type { BoostOptions, FeatureTrainResult } from './train-features.ts';
import type { ModelParts } from './onnx-file.ts';
import type { RidgeWeights } from './reference.ts';
import type { CsvSeries } from './csv.ts';
import { buildSamples, toStepSeries, windowBatch } from './series.ts';
import { expect } from 'vitest';
import type { FeatureRidgeWeights } from './feature-ridge.ts';
import { checkFeatureGraph } from './graph-check.ts';
import { DEFAULT_MLP_OPTIONS } from './mlp.ts';
import type { NeuralOptions } from './train-neural.ts';

/** The ensemble's network kept small (one seed, one penalty, 20 epochs) so a test's retraining takes seconds, not minutes. */
export const SMALL_NEURAL: Partial<NeuralOptions> = { alphas: [10], seeds: 1, mlp: { ...DEFAULT_MLP_OPTIONS, maxEpochs: 20 } };

/** Shared by the model and forecaster tests: small contracts, weights and temp dirs. */

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
export const DATA_DIR = path.resolve(REPO_ROOT, '../shared/data');
export const APPLIANCES_CSV = path.join(DATA_DIR, 'appliances_rh_10min.train.csv');

export function testContract(over: Partial<ModelContract> = {}): ModelContract {
  const horizonsS = over.horizonsS ?? [600, 1200, 1800];
  const perHorizon = (v: number): Record<string, number> => Object.fromEntries(horizonsS.map((h) => [String(h), v]));
  return {
    contractVersion: CONTRACT_VERSION,
    modelVersion: 'test-1',
    stepS: 600,
    windowSteps: 6,
    horizonsS: [600, 1200, 1800],
    intervalLevel: 0.8,
    maxFillSteps: 3,
    trainedAt: '2026-01-01T00:00:00.000Z',
    trainingData: 'synthetic',
    trainingRange: '2026-01-01T00:00:00..2026-01-02T00:00:00',
    validationMae: perHorizon(0.1),
    intervalCoverage: perHorizon(0.8),
    features: 'test',
    ...over,
  };
}

/** Persistence with a fixed +-1 interval: zero weights, q = -1 / +1. */
export function persistenceWeights(windowSteps: number, horizons: number): RidgeWeights {
  return {
    windowSteps,
    horizons,
    wRh: new Float32Array(windowSteps * horizons),
    wT: new Float32Array(2 * horizons),
    b: new Float32Array(horizons),
    qLo: new Float32Array(horizons).fill(-1),
    qHi: new Float32Array(horizons).fill(1),
  };
}

/** A contract-shaped model whose three outputs are `value` for every row and horizon, unclipped (as a foreign model's could be). */
export function constantModel(c: ModelContract, value: number, graphName = 'constant'): ModelParts {
  const W = c.windowSteps;
  const H = c.horizonsS.length;
  return {
    graphName,
    initializers: [floatTensor('zeros', [W, H], new Float32Array(W * H)), floatTensor('zeros_t', [2, H], new Float32Array(2 * H)), floatTensor('value', [1, H], new Float32Array(H).fill(value))],
    nodes: [
      node('MatMul', [INPUT_RH, 'zeros'], ['z_rh']),
      node('MatMul', [INPUT_TIME, 'zeros_t'], ['z_t']),
      node('Add', ['z_rh', 'z_t'], ['z']),
      node('Add', ['z', 'value'], ['out']),
      ...OUTPUT_NAMES.map((name) => node('Identity', ['out'], [name])),
    ],
    inputs: [floatValueInfo(INPUT_RH, ['N', W]), floatValueInfo(INPUT_TIME, ['N', 2])],
    outputs: OUTPUT_NAMES.map((name) => floatValueInfo(name, ['N', H])),
    metadata: contractToMetadata(c),
  };
}

/** A contract-shaped model whose three outputs are NaN for every row. */
export function nanModel(c: ModelContract): ModelParts {
  return constantModel(c, Number.NaN, 'nan');
}

export interface TempDir {
  dir: string;
  file(name: string): string;
  write(name: string, parts: ModelParts): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hygrocast-model-'));
  return {
    dir,
    file: (name) => path.join(dir, name),
    write: async (name, parts) => {
      const p = path.join(dir, name);
      await writeModelFile(p, parts);
      return p;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Every `every`-th real window of the column (window values in %RH, time features). */
export function realWindows(series: CsvSeries, windowSteps: number, every: number): { rh: Float32Array; time: Float32Array; n: number } {
  const steps = toStepSeries(series, 600, 3);
  const s = buildSamples(steps, { windowSteps, horizonSteps: [1], mode: 'level', fromAnchor: 0, targetLimit: steps.raw.length });
  const rows = Array.from({ length: Math.floor(s.n / every) }, (_, i) => i * every);
  return { ...windowBatch(s, windowSteps, rows), n: rows.length };
}

/**
 * The feature graph in `bytes` run by onnxruntime-node on every `every`-th real window of
 * `series` and compared with the reference of `w` (graph-check.ts): features, then outputs,
 * each within `tolerance`, on more than `minWindows` windows.
 */
export async function expectGraphMatchesReference(bytes: Uint8Array, w: FeatureRidgeWeights, series: CsvSeries, every: number, minWindows: number, tolerance = 1e-4): Promise<void> {
  const { rh, time, n } = realWindows(series, w.windowSteps, every);
  const check = await checkFeatureGraph(bytes, w, rh, time);
  expect(check.windows).toBe(n);
  expect(n).toBeGreaterThan(minWindows);
  expect(check.featureDiff).toBeLessThan(tolerance);
  expect(check.maxDiff).toBeLessThan(tolerance);
}

/** A feature model trained (with `opts`, trained_at fixed) on the first `rows` rows of the shared RH_1 file, and its ONNX bytes. */
export async function trainOnFirstRows(opts: BoostOptions, rows = 6000): Promise<{ csv: CsvSeries; trained: FeatureTrainResult; bytes: Uint8Array }> {
  const all = await readCsvColumn(APPLIANCES_CSV, 'RH_1');
  const csv = { ...all, timesMs: all.timesMs.slice(0, rows), values: all.values.slice(0, rows) };
  const trained = trainFeatureRidge(csv, { ...opts, now: () => Date.UTC(2026, 0, 1) });
  return { csv, trained, bytes: encodeModel(buildFeatureModel(trained.weights, trained.contract)) };
}
