import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../gateway/types.ts';
import type { AccuracyDetail, CentralStorage } from './storage.ts';

/** Makes a fresh, empty, unstarted storage; `cleanup` runs after the test. */
export type CentralStorageFactory = () => Promise<{ storage: CentralStorage; cleanup?: () => Promise<void> | void }>;

const T0 = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;

export function centralReading(seq: number, overrides: Partial<Reading> = {}): Reading {
  return { sensorId: 's1', bootId: 'b1', seq, uptimeMs: seq * 1000, wallTimeMs: T0 + seq * 1000, rh: 40 + seq / 100, tempC: 21, quality: [], ...overrides };
}

/** The behaviour every CentralStorage must have (the contract in storage.ts). */
export function runCentralStorageContract(name: string, make: CentralStorageFactory | null): void {
  describe.skipIf(make === null)(`CentralStorage contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    const open = async (): Promise<CentralStorage> => {
      const { storage, cleanup } = await make!();
      await storage.start();
      cleanups.push(async () => {
        await storage.close();
        await cleanup?.();
      });
      return storage;
    };
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });

    it('stores a batch and returns one mark per (sensor, boot) at the highest seq', async () => {
      const s = await open();
      const batch = [centralReading(1), centralReading(2), centralReading(3), centralReading(7, { bootId: 'b2' }), centralReading(5, { sensorId: 's2' })];
      const res = await s.ingest('gw1', batch, T0);
      expect(res.inserted).toBe(5);
      expect(res.duplicates).toBe(0);
      const marks = [...res.marks].sort((a, b) => (a.sensorId + a.bootId).localeCompare(b.sensorId + b.bootId));
      expect(marks).toEqual([
        { sensorId: 's1', bootId: 'b1', seq: 3 },
        { sensorId: 's1', bootId: 'b2', seq: 7 },
        { sensorId: 's2', bootId: 'b1', seq: 5 },
      ]);
      expect(await s.countReadings('gw1')).toBe(5);
    });

    it('a replayed batch changes nothing and keeps the first copy', async () => {
      const s = await open();
      await s.ingest('gw1', [centralReading(1), centralReading(2)], T0);
      const replay = await s.ingest('gw1', [centralReading(1, { rh: 99 }), centralReading(2), centralReading(3)], T0);
      expect(replay.inserted).toBe(1);
      expect(replay.duplicates).toBe(2);
      expect(await s.countReadings()).toBe(3);
      const rows = await s.readings('gw1', 's1', 0, Number.MAX_SAFE_INTEGER, 10);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(rows[0]?.rh).toBeCloseTo(40.01);
    });

    it('the same (sensor, boot, seq) from two gateways are two readings', async () => {
      const s = await open();
      await s.ingest('gw1', [centralReading(1)], T0);
      await s.ingest('gw2', [centralReading(1)], T0);
      expect(await s.countReadings('gw1')).toBe(1);
      expect(await s.countReadings('gw2')).toBe(1);
      expect(await s.sensors()).toEqual([
        { gatewayId: 'gw1', sensorId: 's1' },
        { gatewayId: 'gw2', sensorId: 's1' },
      ]);
    });

    it('round-trips every field, nulls and quality flags included', async () => {
      const s = await open();
      const r = centralReading(9, { rh: null, tempC: null, quality: ['sensor_error', 'stale'] });
      await s.ingest('gw1', [r], T0);
      expect(await s.readings('gw1', 's1', 0, Number.MAX_SAFE_INTEGER, 10)).toEqual([{ ...r, gatewayId: 'gw1' }]);
    });

    it('takes the health mark again and again (a write the health check makes)', async () => {
      const s = await open();
      await s.writeHealthMark(T0);
      await s.writeHealthMark(T0 + 1);
      await expect(s.countReadings()).resolves.toBe(0);
    });

    it('readings() filters by time range and keeps the newest `limit`, returned oldest first', async () => {
      const s = await open();
      await s.ingest('gw1', [5, 3, 1, 4, 2].map((i) => centralReading(i)), T0);
      const rows = await s.readings('gw1', 's1', T0 + 2000, T0 + 5000, 2);
      expect(rows.map((r) => r.seq)).toEqual([3, 4]);
      expect((await s.readings('gw1', 's1', T0 + 2000, T0 + 5000, 10)).map((r) => r.seq)).toEqual([2, 3, 4]);
    });

    it('registers gateways with token hashes and refuses a taken id', async () => {
      const s = await open();
      await s.registerGateway('gw1', 'hash-1', T0);
      expect(await s.gatewayForTokenHash('hash-1')).toBe('gw1');
      expect(await s.gatewayForTokenHash('hash-2')).toBeNull();
      await expect(s.registerGateway('gw1', 'hash-3', T0)).rejects.toMatchObject({ code: 'CENTRAL_GATEWAY_EXISTS' });
      expect(await s.gatewayForTokenHash('hash-3')).toBeNull();
    });

    it('keeps reports per gateway, newest first', async () => {
      const s = await open();
      await s.addReport('gw1', { kind: 'rollout', modelVersion: 'v1', outcome: 'promoted', atMs: T0 });
      await s.addReport('gw1', { kind: 'accuracy', modelVersion: 'v1', outcome: 'live', maePerHorizon: { '600': 0.5 }, atMs: T0 + 1 });
      await s.addReport('gw2', { kind: 'rollout', modelVersion: 'v1', outcome: 'rejected_signature', atMs: T0 });
      const reports = await s.reports('gw1', 10);
      expect(reports.map((r) => r.outcome)).toEqual(['live', 'promoted']);
      expect(reports[0]).toMatchObject({ gatewayId: 'gw1', kind: 'accuracy', maePerHorizon: { '600': 0.5 }, atMs: T0 + 1 });
    });

    it('keeps accuracy reports with their sensor and horizons, and lists them by gateway, sensor and model', async () => {
      const s = await open();
      const accuracy = (sensorId: string, mae: number): AccuracyDetail => ({
        sensorId,
        windowS: 86_400,
        horizons: [
          { horizonS: 600, mae, n: 144, coverage: 0.8125, bandScale: { lower: 1.02, upper: 0.97, updates: 300 } },
          { horizonS: 3600, mae: mae * 3, n: 139 },
        ],
      });
      await s.addReport('gw1', { kind: 'accuracy', modelVersion: 'v1', outcome: 'live', accuracy: accuracy('s1', 0.2), atMs: T0 });
      await s.addReport('gw1', { kind: 'rollout', modelVersion: 'v2', outcome: 'promoted', atMs: T0 + 1 });
      await s.addReport('gw1', { kind: 'accuracy', modelVersion: 'v2', outcome: 'live', accuracy: accuracy('s2', 0.3), atMs: T0 + 2 });
      await s.addReport('gw2', { kind: 'accuracy', modelVersion: 'v2', outcome: 'live', accuracy: accuracy('s1', 0.4), atMs: T0 + 3 });
      const all = await s.accuracyReports({}, 10);
      expect(all.map((r) => [r.gatewayId, r.accuracy?.sensorId, r.modelVersion])).toEqual([
        ['gw2', 's1', 'v2'],
        ['gw1', 's2', 'v2'],
        ['gw1', 's1', 'v1'],
      ]);
      expect(all[2]).toMatchObject({ kind: 'accuracy', outcome: 'live', atMs: T0, accuracy: accuracy('s1', 0.2) });
      expect((await s.accuracyReports({ gatewayId: 'gw1' }, 10)).map((r) => r.atMs)).toEqual([T0 + 2, T0]);
      expect((await s.accuracyReports({ sensorId: 's1' }, 10)).map((r) => r.gatewayId)).toEqual(['gw2', 'gw1']);
      expect((await s.accuracyReports({ gatewayId: 'gw1', sensorId: 's1', modelVersion: 'v1' }, 10)).map((r) => r.atMs)).toEqual([T0]);
      expect(await s.accuracyReports({ gatewayId: 'gw1', modelVersion: 'v3' }, 10)).toEqual([]);
      expect(await s.accuracyReports({}, 1)).toHaveLength(1);
      const rollout = (await s.reports('gw1', 10)).find((r) => r.kind === 'rollout');
      expect(rollout).not.toHaveProperty('accuracy');
    });

    it('prunes accuracy reports dated before the cutoff, keeping the one at it and every rollout report', async () => {
      const s = await open();
      const now = T0 + 400 * DAY_MS; // the injected "now" of a retention of 30 days
      const cutoff = now - 30 * DAY_MS;
      const accuracy = { sensorId: 's1', windowS: 86_400, horizons: [{ horizonS: 600, mae: 0.2, n: 10 }] };
      const live = (atMs: number) => ({ kind: 'accuracy' as const, modelVersion: 'v1', outcome: 'live', accuracy, atMs });
      await s.addReport('gw1', live(T0));
      await s.addReport('gw2', live(cutoff - 1));
      await s.addReport('gw1', live(cutoff));
      await s.addReport('gw2', live(now));
      await s.addReport('gw1', { kind: 'rollout', modelVersion: 'v1', outcome: 'promoted', atMs: T0 });
      expect(await s.pruneAccuracyReports(cutoff)).toBe(2);
      expect((await s.accuracyReports({}, 10)).map((r) => r.atMs)).toEqual([now, cutoff]);
      expect((await s.reports('gw1', 10)).map((r) => [r.kind, r.atMs])).toEqual([
        ['rollout', T0],
        ['accuracy', cutoff],
      ]);
      expect(await s.pruneAccuracyReports(cutoff)).toBe(0);
    });

    it('rejects with CENTRAL_STORAGE_CLOSED after close', async () => {
      const s = await open();
      await s.close();
      await expect(s.countReadings()).rejects.toMatchObject({ code: 'CENTRAL_STORAGE_CLOSED' });
    });
  });
}
