import type ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvColumn } from './csv.ts';
import type { CsvSeries } from './csv.ts';
import { openSession } from './ort-run.ts';
import { buildRidgeModel } from './ridge-onnx.ts';
import { maxReferenceDiff } from './self-check.ts';
import { APPLIANCES_CSV, realWindows, tempDir } from './test-fixtures.ts';
import type { TempDir } from './test-fixtures.ts';
import { trainRidge } from './train.ts';

/**
 * Required CI test: the ONNX graph computed by onnxruntime-node matches the plain-TypeScript
 * reference (reference.ts) from the same trained weights, on many real windows.
 */

const TOLERANCE = 1e-4;
let csv: CsvSeries;
let tmp: TempDir;
const sessions: ort.InferenceSession[] = [];

beforeAll(async () => {
  csv = await readCsvColumn(APPLIANCES_CSV, 'RH_1');
  tmp = await tempDir();
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

describe('ONNX ridge graph vs TypeScript reference', () => {
  it('matches within 1e-4 on real windows for a freshly trained model', async () => {
    const result = trainRidge(csv, { now: () => Date.UTC(2026, 0, 1) });
    const file = await tmp.write('trained.onnx', buildRidgeModel(result.weights, result.contract));
    const { rh, time, n } = realWindows(csv, 144, 5);
    expect(n).toBeGreaterThan(2000);
    const diff = await maxReferenceDiff(await session(file), result.weights, rh, time);
    expect(diff).toBeLessThan(TOLERANCE);
    // The weights are not trivially zero: the check exercises the matrix products.
    expect(Math.max(...Array.from(result.weights.wRh, Math.abs))).toBeGreaterThan(1e-3);
  });

  // The shipped model is a feature-ridge model since v3: its check is in feature-ridge.test.ts.

  it('detects a graph that differs from the reference', async () => {
    const result = trainRidge(csv, { now: () => Date.UTC(2026, 0, 1) });
    const file = await tmp.write('trained2.onnx', buildRidgeModel(result.weights, result.contract));
    const altered = { ...result.weights, b: result.weights.b.map((v) => v + 0.01) };
    const { rh, time } = realWindows(csv, 144, 50);
    expect(await maxReferenceDiff(await session(file), altered, rh, time)).toBeGreaterThan(0.005);
  });
});

describe('trainRidge on real data', () => {
  it('writes a contract with the documented shape and beats persistence at 6 h', () => {
    const result = trainRidge(csv, { now: () => Date.UTC(2026, 0, 1) });
    const c = result.contract;
    expect(c.stepS).toBe(600);
    expect(c.windowSteps).toBe(144);
    expect(c.horizonsS).toHaveLength(36);
    expect(c.trainingRange).toBe('2016-01-11T17:00:00..2016-04-16T15:10:00');
    const sixHours = result.summary.test.find((h) => h.horizon_s === 21_600);
    expect(sixHours?.mae.model).toBeLessThan(sixHours?.mae.persistence ?? 0);
    // Split-conformal on the validation split: coverage on the later test split stays near 80%.
    for (const h of result.summary.test) expect(h.coverage).toBeGreaterThan(0.6);
  });

  it('refuses too little data with TRAINING_FAILED and bad options with DATA_INVALID', () => {
    const small = { ...csv, timesMs: csv.timesMs.slice(0, 200), values: csv.values.slice(0, 200) };
    expect(() => trainRidge(small)).toThrow(expect.objectContaining({ code: 'TRAINING_FAILED' }));
    expect(() => trainRidge(csv, { horizonsS: [600, 900] })).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/horizon 900 s is not a positive multiple of step_s 600/) }));
  });
});
