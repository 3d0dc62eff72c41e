import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import type { Reading } from '../gateway/types.ts';
import { readCsvColumn } from '../models/csv.ts';
import { decodeModel, describeModel, encodeModel } from '../models/onnx-file.ts';
import { buildRidgeModel } from '../models/ridge-onnx.ts';
import { ENSEMBLE_GRAPH_NAME } from '../models/feature-onnx.ts';
import { APPLIANCES_CSV, persistenceWeights, SMALL_NEURAL, testContract } from '../models/test-fixtures.ts';
import { generateSigningKeys, privateKeyFromPem } from './manifest.ts';
import { ModelRegistry } from './registry.ts';
import { retrainAll, type RunRecord } from './retrain.ts';
import { SqliteCentralStorage } from './storage/sqlite-storage.ts';

const HORIZONS = [600, 1200, 1800, 2400, 3000, 3600];
const TRAIN = { windowSteps: 36, horizonsS: HORIZONS };
const NEURAL = SMALL_NEURAL;
const key = privateKeyFromPem(generateSigningKeys().privateKeyPem);

describe('retraining from synced data (real data: appliances RH_1)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-retrain-'));
    dirs.push(dir);
    const storage = new SqliteCentralStorage({ dataDir: dir });
    await storage.start();
    const csv = await readCsvColumn(APPLIANCES_CSV, 'RH_1');
    const readings: Reading[] = [];
    csv.timesMs.slice(0, 6000).forEach((t, i) => {
      const rh = csv.values[i];
      if (rh !== null && rh !== undefined) readings.push({ sensorId: 'rh1', bootId: 'b', seq: i, uptimeMs: i * 600_000, wallTimeMs: t, rh, tempC: null, quality: [] });
    });
    for (let i = 0; i < readings.length; i += 5000) await storage.ingest('gw', readings.slice(i, i + 5000), 0);
    const registry = new ModelRegistry(path.join(dir, 'models'));
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const runsFile = path.join(dir, 'runs.jsonl');
    return { storage, registry, clock, runsFile, count: readings.length };
  }

  it('scores a shipped feature-ridge production model (models/hygrocast-rh.onnx) on the holdout instead of failing', async () => {
    const { storage, registry, clock, runsFile } = await setup();
    try {
      const bytes = fs.readFileSync(path.resolve(import.meta.dirname, '../models/hygrocast-rh.onnx'));
      const shipped = describeModel(decodeModel(bytes)).contract;
      expect(shipped).not.toBeNull();
      registry.addCandidate(bytes, shipped!, {}, key, clock.now());
      registry.promote(shipped!.modelVersion, clock.now());
      const [run] = await retrainAll({ storage, registry, signingKey: key, clock, runsFile, neural: NEURAL });
      expect(run?.error).toBeUndefined();
      expect(run?.production?.version).toBe(shipped!.modelVersion);
      expect(Object.keys(run!.production!.holdoutMae)).toEqual(shipped!.horizonsS.map(String));
      expect(run!.production!.meanMae).toBeGreaterThan(0);
      expect(['promoted', 'archived']).toContain(run?.decision);
    } finally {
      await storage.close();
    }
  }, 180_000);

  it('records every run; promotes over a worse production model, archives a candidate that is not better by the margin', async () => {
    const { storage, registry, clock, runsFile, count } = await setup();
    try {
      // A production model that is persistence plus a 3 %RH bias: clearly worse than any fit.
      const base = testContract({ modelVersion: 'biased', windowSteps: 36, horizonsS: HORIZONS });
      const biased = persistenceWeights(36, HORIZONS.length);
      biased.b.fill(3);
      registry.addCandidate(encodeModel(buildRidgeModel(biased, base)), base, {}, key, clock.now());
      registry.promote('biased', clock.now());

      const [first] = await retrainAll({ storage, registry, signingKey: key, clock, runsFile, train: TRAIN, neural: NEURAL, promotionMargin: 0.02 });
      expect(first).toMatchObject({ gatewayId: 'gw', sensorId: 'rh1', decision: 'promoted', params: { kind: 'ensemble', windowSteps: 36, horizonsS: HORIZONS } });
      // The candidate is the shipped kind: an ensemble feature model, whose trees and network the next run reads back to score it.
      expect(decodeModel(registry.artifact(first!.candidate!.version)!).graph?.name).toBe(ENSEMBLE_GRAPH_NAME);
      expect(first?.data.readings).toBe(count);
      expect(first?.data.trainedUntilMs).toBeLessThan(first?.data.toMs ?? 0);
      expect(first?.codeVersion).toMatch(/^(git|package):/);
      expect(first!.candidate!.meanMae).toBeLessThan(first!.production!.meanMae * 0.98);
      expect(Object.keys(first!.candidate!.holdoutMae)).toEqual(HORIZONS.map(String));

      clock.advance(60_000);
      // The same data again: the new candidate equals production, so it is not better by 2 %.
      const [second] = await retrainAll({ storage, registry, signingKey: key, clock, runsFile, train: TRAIN, neural: NEURAL, promotionMargin: 0.02 });
      expect(second?.decision).toBe('archived');
      expect(second?.production?.version).toBe(first?.candidate?.version);

      expect(registry.list().map((e) => [e.version, e.stage])).toEqual([
        ['biased', 'archived'],
        [first!.candidate!.version, 'production'],
        [second!.candidate!.version, 'archived'],
      ]);
      const runs = fs.readFileSync(runsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunRecord);
      expect(runs.map((r) => r.decision)).toEqual(['promoted', 'archived']);
    } finally {
      await storage.close();
    }
  }, 240_000);

  it('kind ridge still trains delta-ridge candidates, scored against an ensemble production model', async () => {
    const { storage, registry, clock, runsFile } = await setup();
    try {
      const [shipped] = await retrainAll({ storage, registry, signingKey: key, clock, runsFile, train: TRAIN, neural: NEURAL });
      expect(shipped?.decision).toBe('promoted');
      clock.advance(60_000);
      const [ridge] = await retrainAll({ storage, registry, signingKey: key, clock, runsFile, train: TRAIN, kind: 'ridge' });
      expect(ridge?.error).toBeUndefined();
      expect(ridge?.params.kind).toBe('ridge');
      expect(ridge?.production?.version).toBe(shipped?.candidate?.version);
      expect(decodeModel(registry.artifact(ridge!.candidate!.version)!).graph?.name).not.toBe(ENSEMBLE_GRAPH_NAME);
      // The decision follows the scores, whichever it is.
      const better = ridge!.candidate!.meanMae < ridge!.production!.meanMae * 0.98;
      expect(ridge?.decision).toBe(better ? 'promoted' : 'archived');
    } finally {
      await storage.close();
    }
  }, 240_000);
});
