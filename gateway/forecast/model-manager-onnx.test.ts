import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys, manifestFor, privateKeyFromPem, publicKeyFromPem, signManifest } from '../../central/manifest.ts';
import { readCsvColumn } from '../../models/csv.ts';
import { contractToMetadata, INPUT_RH, INPUT_TIME, OUTPUT_NAMES, type ModelContract } from '../../models/contract.ts';
import { encodeModel, floatTensor, floatValueInfo, int64Tensor, node, type ModelParts } from '../../models/onnx-file.ts';
import { buildRidgeModel } from '../../models/ridge-onnx.ts';
import { APPLIANCES_CSV, persistenceWeights, tempDir, testContract, type TempDir } from '../../models/test-fixtures.ts';
import { writeFileSync } from 'node:fs';
import { ManualClock } from '../clock.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { verifyModel } from '../sync/model-verify.ts';
import { ModelManager, type ModelEvent } from './model-manager.ts';
import { OnnxForecaster } from './onnx-forecaster.ts';

const HORIZONS = [600, 1200, 1800];

/**
 * A model that is fine on a flat window (the verifier's smoke run) and NaN on real data:
 * y = last + sqrt(-|sum of deltas to the last step|), so sqrt(0) = 0 when flat, NaN otherwise.
 */
function nanOnChange(c: ModelContract): ModelParts {
  const W = c.windowSteps;
  const H = c.horizonsS.length;
  return {
    graphName: 'nan_on_change',
    initializers: [int64Tensor('s0', [1], [W - 1]), int64Tensor('s1', [1], [W]), int64Tensor('ax', [1], [1]), floatTensor('ones', [W, H], new Float32Array(W * H).fill(1)), floatTensor('zt', [2, H], new Float32Array(2 * H))],
    nodes: [
      node('Slice', [INPUT_RH, 's0', 's1', 'ax'], ['last']),
      node('Sub', [INPUT_RH, 'last'], ['d']),
      node('MatMul', ['d', 'ones'], ['z']),
      node('MatMul', [INPUT_TIME, 'zt'], ['zt0']),
      node('Add', ['z', 'zt0'], ['z1']),
      node('Abs', ['z1'], ['a']),
      node('Neg', ['a'], ['n']),
      node('Sqrt', ['n'], ['r']),
      node('Add', ['r', 'last'], ['y']),
      ...OUTPUT_NAMES.map((name) => node('Identity', ['y'], [name])),
    ],
    inputs: [floatValueInfo(INPUT_RH, ['N', W]), floatValueInfo(INPUT_TIME, ['N', 2])],
    outputs: OUTPUT_NAMES.map((name) => floatValueInfo(name, ['N', H])),
    metadata: contractToMetadata(c),
  };
}
const W = 12;

/** Real ONNX models on real data (appliances RH_1, 10-min steps, the first 600 rows). */
describe('ModelManager with onnxruntime models', () => {
  let dir: TempDir;
  const store = new MemoryStore();
  const key = generateSigningKeys();

  function write(name: string, version: string, shape: (w: ReturnType<typeof persistenceWeights>) => void): { file: string; bytes: Uint8Array } {
    const contract = testContract({ modelVersion: version, windowSteps: W, horizonsS: HORIZONS });
    const w = persistenceWeights(W, HORIZONS.length);
    shape(w);
    const bytes = encodeModel(buildRidgeModel(w, contract));
    const file = dir.file(name);
    writeFileSync(file, bytes);
    return { file, bytes };
  }

  beforeAll(async () => {
    dir = await tempDir();
    const csv = await readCsvColumn(APPLIANCES_CSV, 'RH_1');
    csv.timesMs.slice(0, 600).forEach((t, i) => {
      const rh = csv.values[i];
      if (rh !== null && rh !== undefined) store.append({ sensorId: 'rh1', bootId: 'b', seq: i, uptimeMs: i * 600_000, wallTimeMs: t, rh, tempC: null, quality: [] });
    });
    store.flush();
  });
  afterAll(() => dir.remove());

  function manager(initial: OnnxForecaster, reports: ModelEvent[]): ModelManager {
    return new ModelManager({
      initial,
      load: (file) => OnnxForecaster.load(file, { secondsOfDay: () => 0 }),
      store,
      clock: new ManualClock(),
      gate: () => null,
      liveError: () => null,
      report: (e) => {
        reports.push(e);
        return Promise.resolve();
      },
    });
  }

  it('promotes persistence over a model biased by +3 %RH', async () => {
    const biased = write('biased.onnx', 'biased', (w) => w.b.fill(3));
    const persistence = write('persistence.onnx', 'persistence', () => {});
    const reports: ModelEvent[] = [];
    const m = manager(await OnnxForecaster.load(biased.file, { secondsOfDay: () => 0 }), reports);
    try {
      const event = await m.offer(persistence.file);
      expect(event.outcome).toBe('promoted');
      expect(m.version).toBe('persistence');
      // +3 on every forecast: the running model's shadow MAE is about 3 %RH more than the candidate's.
      expect(event.detail).toMatch(/shadow MAE 0\.\d+ %RH vs [2-4]\.\d+ for biased/);
    } finally {
      await m.close();
    }
  });

  it('refuses a signed model that passes verification but outputs NaN on real data, and keeps the running model', async () => {
    const nan = { file: dir.file('nan-on-data.onnx'), bytes: encodeModel(nanOnChange(testContract({ modelVersion: 'nan-on-data', windowSteps: W, horizonsS: HORIZONS }))) };
    writeFileSync(nan.file, nan.bytes);
    const contract = testContract({ modelVersion: 'nan-on-data', windowSteps: W, horizonsS: HORIZONS });
    const manifest = signManifest(manifestFor(nan.bytes, contract, {}, Date.UTC(2026, 0, 1)), privateKeyFromPem(key.privateKeyPem));
    await expect(verifyModel(manifest, nan.bytes, publicKeyFromPem(key.publicKeyPem))).resolves.toMatchObject({ modelVersion: 'nan-on-data' });

    const persistence = write('persistence2.onnx', 'persistence2', () => {});
    const reports: ModelEvent[] = [];
    const m = manager(await OnnxForecaster.load(persistence.file, { secondsOfDay: () => 0 }), reports);
    try {
      const event = await m.offer(nan.file);
      expect(event).toMatchObject({ outcome: 'refused_shadow_failed', version: 'nan-on-data', detail: expect.stringMatching(/invalid_output/) as string });
      expect(m.version).toBe('persistence2');
      expect(reports.map((r) => r.outcome)).toEqual(['refused_shadow_failed']);
    } finally {
      await m.close();
    }
  });
});
