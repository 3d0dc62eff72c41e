import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../types.ts';
import type { ReadingStore } from './store.ts';

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
      store.append(reading(1));
      store.append(reading(1, { rh: 99 }));
      store.flush();
      store.append(reading(1, { wallTimeMs: T0 + 50_000 }));
      store.append(reading(1, { bootId: 'boot-b' }));
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
