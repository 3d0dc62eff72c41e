import { afterEach, describe, expect, it } from 'vitest';
import { bucketMeans } from '../../models/resample.ts';
import type { QualityFlag, Reading } from '../types.ts';
import { DEFAULT_RECENT_LIMIT, type ReadingStore } from './store.ts';

/** Makes a fresh, empty store; `cleanup` runs after each test (remove temp folders...). */
export type StoreFactory = (options: { maxPendingReadings?: number }) => { store: ReadingStore; cleanup?: () => void };

const T0 = Date.UTC(2026, 0, 1);

/** A valid reading; `seq` also drives the time so consecutive calls are distinct and ordered. */
export function reading(seq: number, overrides: Partial<Reading> = {}): Reading {
  return {
    sensorId: 'kitchen',
    bootId: 'boot-a',
    seq,
    uptimeMs: 1000 * seq,
    wallTimeMs: T0 + 1000 * seq,
    rh: 40 + seq / 10,
    tempC: 20 + seq / 100,
    quality: [],
    ...overrides,
  };
}

/**
 * The behaviour every ReadingStore must have (the contract in store.ts). Each implementation's
 * test file calls this once; a new store (Postgres on the central side) gets the same suite.
 */
export function runStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`ReadingStore contract: ${name}`, () => {
    const cleanups: Array<() => void> = [];
    const open = (options: { maxPendingReadings?: number } = {}): ReadingStore => {
      const { store, cleanup } = makeStore(options);
      cleanups.push(() => {
        try {
          store.close();
        } catch {
          // already closed by the test
        }
        cleanup?.();
      });
      return store;
    };
    afterEach(() => {
      for (const c of cleanups.splice(0)) c();
    });

    it('starts empty', () => {
      const store = open();
      expect(store.sensors()).toEqual([]);
      expect(store.recent('kitchen', 0)).toEqual([]);
      expect(store.stats()).toMatchObject({
        readings: 0,
        pending: 0,
        flushes: 0,
        duplicates: 0,
        dropped: 0,
        evictions: { thinned: 0, dropped_synced: 0, dropped_unsynced: 0 },
        writeError: null,
      });
    });

    it('buffers on append and writes on flush', () => {
      const store = open();
      store.append(reading(1));
      store.append(reading(2));
      expect(store.stats()).toMatchObject({ readings: 0, pending: 2 });
      expect(store.flush()).toBe(2);
      expect(store.stats()).toMatchObject({ readings: 2, pending: 0, flushes: 1 });
      expect(store.flush()).toBe(0);
      expect(store.stats().flushes).toBe(1);
    });

    it('returns readings of one sensor since a time, oldest first, with every field intact', () => {
      const store = open();
      const flagged = reading(3, { rh: null, tempC: null, quality: ['sensor_error', 'stale'] });
      store.append(reading(2));
      store.append(reading(1));
      store.append(flagged);
      store.append(reading(4, { sensorId: 'cellar' }));
      store.flush();
      const got = store.recent('kitchen', reading(2).wallTimeMs);
      expect(got.map((r) => r.seq)).toEqual([2, 3]);
      const { id, ...rest } = got[1]!;
      expect(rest).toEqual(flagged);
      expect(typeof id).toBe('number');
      expect(store.recent('kitchen', 0).map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(store.recent('nobody', 0)).toEqual([]);
    });

    it('includes buffered readings in recent(), merged in time order', () => {
      const store = open();
      store.append(reading(1));
      store.append(reading(3));
      store.flush();
      store.append(reading(2));
      store.append(reading(4));
      expect(store.recent('kitchen', 0).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    });

    it('keeps the newest `limit` readings and rejects a bad limit', () => {
      const store = open();
      for (let i = 1; i <= 6; i++) store.append(reading(i));
      store.flush();
      store.append(reading(7));
      expect(store.recent('kitchen', 0, 3).map((r) => r.seq)).toEqual([5, 6, 7]);
      expect(() => store.recent('kitchen', 0, 0)).toThrow(expect.objectContaining({ code: 'STORE_INVALID_ARGUMENT' }));
      expect(() => store.recent('kitchen', Number.NaN)).toThrow(/sinceMs/);
    });

    it('aggregates usable readings per step exactly as the resampler does, buffered ones included', () => {
      const store = open();
      const unusableFlags: QualityFlag[] = ['out_of_range', 'sensor_error', 'stuck', 'spike'];
      const STEP = 10_000;
      const rows = [
        reading(1, { rh: 40.1 }),
        reading(2, { rh: 41.7, quality: ['stale'] }), // a flag that does not make a value unusable
        reading(4, { rh: 99, quality: ['spike'] }), // newest of its step, but unusable
        reading(12, { rh: null, quality: ['sensor_error'] }), // a step with only an unusable reading
        reading(21, { rh: 50.3 }),
        reading(25, { rh: 52.9, quality: ['out_of_range', 'stale'] }),
        reading(29, { rh: 51.1 }),
        reading(30, { rh: 70 }), // at toMs: outside
      ];
      for (const r of rows.slice(0, 5)) store.append(r);
      store.flush();
      for (const r of rows.slice(5)) store.append(r); // buffered
      store.append(reading(3, { sensorId: 'cellar', rh: 10 }));
      const query = { fromMs: reading(0).wallTimeMs, toMs: reading(30).wallTimeMs, stepMs: STEP, unusableFlags };
      const got = store.stepAggregates('kitchen', query);
      expect(got.map((a) => ({ ...a, meanRh: null }))).toEqual([
        { startMs: query.fromMs, meanRh: null, usable: 2, newestUsableMs: reading(2).wallTimeMs, newestMs: reading(4).wallTimeMs },
        { startMs: query.fromMs + STEP, meanRh: null, usable: 0, newestUsableMs: null, newestMs: reading(12).wallTimeMs },
        { startMs: query.fromMs + 2 * STEP, meanRh: null, usable: 2, newestUsableMs: reading(29).wallTimeMs, newestMs: reading(29).wallTimeMs },
      ]);
      // The resampler's rule over the raw readings: same means, same empty steps.
      const points = store.recent('kitchen', 0).map((r) => ({ tMs: r.wallTimeMs, rh: r.rh ?? Number.NaN, faulty: r.quality.some((f) => unusableFlags.includes(f)) }));
      const expected = bucketMeans(points, { stepMs: STEP, startMs: query.fromMs, steps: 3 });
      expect(expected[1]).toBeNull();
      expect(got[0]!.meanRh).toBeCloseTo(expected[0]!, 12);
      expect(got[1]!.meanRh).toBeNull();
      expect(got[2]!.meanRh).toBeCloseTo(expected[2]!, 12);
      expect(store.stepAggregates('nobody', query)).toEqual([]);
      expect(store.stepAggregates('kitchen', { ...query, unusableFlags: [] })[0]).toMatchObject({ usable: 3, newestUsableMs: reading(4).wallTimeMs });
    });

    it('aggregates a whole range however many readings it holds (beyond recent()\'s default limit)', () => {
      const store = open();
      const n = 3 * DEFAULT_RECENT_LIMIT;
      for (let i = 0; i < n; i++) store.append(reading(i, { rh: 50 }));
      store.flush();
      const got = store.stepAggregates('kitchen', { fromMs: reading(0).wallTimeMs, toMs: reading(n).wallTimeMs, stepMs: 1000 * DEFAULT_RECENT_LIMIT, unusableFlags: [] });
      expect(got.map((a) => [a.usable, a.meanRh])).toEqual([
        [DEFAULT_RECENT_LIMIT, 50],
        [DEFAULT_RECENT_LIMIT, 50],
        [DEFAULT_RECENT_LIMIT, 50],
      ]);
    });

    it('rejects a bad step query, naming the field', () => {
      const store = open();
      const ok = { fromMs: 0, toMs: 60_000, stepMs: 1000, unusableFlags: [] as QualityFlag[] };
      expect(() => store.stepAggregates('kitchen', { ...ok, stepMs: 0 })).toThrow(expect.objectContaining({ code: 'STORE_INVALID_ARGUMENT', message: expect.stringMatching(/stepMs/) }));
      expect(() => store.stepAggregates('kitchen', { ...ok, toMs: 0 })).toThrow(/toMs/);
      expect(() => store.stepAggregates('kitchen', { ...ok, fromMs: 0.5 })).toThrow(/fromMs/);
      expect(() => store.stepAggregates('kitchen', { ...ok, toMs: 1e9 })).toThrow(/steps/);
      expect(() => store.stepAggregates('kitchen', { ...ok, unusableFlags: ['bogus' as never] })).toThrow(/unusableFlags/);
    });

    it('assigns ids in insertion order that survive the flush', () => {
      const store = open();
      store.append(reading(1));
      store.append(reading(2));
      const before = store.recent('kitchen', 0).map((r) => r.id);
      store.flush();
      const after = store.recent('kitchen', 0).map((r) => r.id);
      expect(after).toEqual(before);
      expect(after[1]!).toBeGreaterThan(after[0]!);
    });

    it('ignores a duplicate (sensorId, bootId, seq), buffered or stored, and counts it', () => {
      const store = open();
      // append() says which were new, so the pipeline announces each reading once.
      expect(store.append(reading(1))).toBe(true);
      expect(store.append(reading(1, { rh: 99 }))).toBe(false);
      store.flush();
      expect(store.append(reading(1, { wallTimeMs: T0 + 50_000 }))).toBe(false);
      expect(store.append(reading(1, { bootId: 'boot-b' }))).toBe(true);
      store.flush();
      const got = store.recent('kitchen', 0);
      expect(got.map((r) => [r.bootId, r.seq, r.rh])).toEqual([
        ['boot-a', 1, reading(1).rh],
        ['boot-b', 1, reading(1).rh],
      ]);
      expect(store.stats()).toMatchObject({ readings: 2, duplicates: 2 });
    });

    it('lists sensors, buffered ones included, sorted', () => {
      const store = open();
      store.append(reading(1, { sensorId: 'b' }));
      store.flush();
      store.append(reading(1, { sensorId: 'a' }));
      expect(store.sensors()).toEqual(['a', 'b']);
    });

    it('flushes by itself when the buffer reaches maxPendingReadings', () => {
      const store = open({ maxPendingReadings: 3 });
      for (let i = 1; i <= 4; i++) store.append(reading(i));
      expect(store.stats()).toMatchObject({ readings: 3, pending: 1, flushes: 1 });
      expect(store.recent('kitchen', 0).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    });

    it('does not keep a reference to the caller\'s reading', () => {
      const store = open();
      const r = reading(1, { quality: ['spike'] });
      store.append(r);
      r.quality.push('stale');
      r.rh = 1;
      expect(store.recent('kitchen', 0)[0]).toMatchObject({ rh: reading(1).rh, quality: ['spike'] });
    });

    it('rejects an invalid reading with an error naming the field', () => {
      const store = open();
      expect(() => store.append(reading(1, { sensorId: 'bad id!' }))).toThrow(/sensorId/);
      expect(() => store.append(reading(1, { rh: Number.NaN }))).toThrow(/rh/);
      expect(() => store.append(reading(-1))).toThrow(expect.objectContaining({ code: 'STORE_INVALID_READING' }));
      expect(() => store.append(reading(1, { quality: ['bogus' as never] }))).toThrow(/quality/);
      // What the central server's ingest refuses is refused here, where the error reaches its source.
      expect(() => store.append(reading(1, { wallTimeMs: -1000 }))).toThrow(/^invalid reading: wallTimeMs must be an integer of ms since 1970/);
      expect(() => store.append(reading(1, { wallTimeMs: 1.5 }))).toThrow(/wallTimeMs/);
      expect(() => store.append(reading(1, { uptimeMs: 10.25 }))).toThrow(/uptimeMs/);
      expect(store.stats().pending).toBe(0);
    });

    it('flushes on close and is unusable afterwards', () => {
      const store = open();
      store.append(reading(1));
      store.close();
      expect(() => store.append(reading(2))).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
      expect(() => store.stats()).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
      expect(() => store.close()).not.toThrow();
    });
  });
}
