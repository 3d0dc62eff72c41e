import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { QualityFlag, Reading } from '../types.ts';
import { SqliteStore } from './sqlite-store.ts';

const MiB = 1024 * 1024;
const SENSORS = ['s1', 's2', 's3', 's4'];

let dir: string;
let clock: ManualClock;
let store: SqliteStore | null = null;
let reader: Database.Database | null = null;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-retention-'));
  clock = new ManualClock(Date.UTC(2026, 0, 1));
});

afterEach(() => {
  reader?.close();
  reader = null;
  store?.close();
  store = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Reading n of a 4-sensor, 1 reading/s stream driven by the manual clock; every 97th carries a spike flag. */
function nth(n: number): Reading {
  const sensorId = SENSORS[n % SENSORS.length] ?? 's1';
  const seq = Math.floor(n / SENSORS.length);
  const quality: QualityFlag[] = seq % 97 === 0 ? ['spike'] : [];
  return { sensorId, bootId: 'boot', seq, uptimeMs: seq * 1000, wallTimeMs: clock.now(), rh: 40 + (seq % 20), tempC: 20, quality };
}

function rows(sql: string): unknown {
  reader ??= new Database(path.join(dir, 'hygrocast.db'), { readonly: true });
  return reader.prepare(sql).pluck().get();
}

describe('byte budget', () => {
  it('holds 2 MiB over 300 000 readings: thins to 1-min then 10-min means, drops the oldest only when thinning frees nothing', () => {
    store = new SqliteStore({ dataDir: dir, clock, retentionBytes: 2 * MiB });
    const fileBytes = (): number => fs.statSync(path.join(dir, 'hygrocast.db')).size;
    // Phase 1: 200 000 readings at 1 reading/s per sensor. Thinning alone keeps the budget.
    for (let n = 0; n < 200_000; n++) {
      store.append(nth(n));
      if (n % SENSORS.length === SENSORS.length - 1) clock.advance(1000);
      if (n % 400 !== 399) continue;
      store.flush();
      expect(store.usedBytes()).toBeLessThanOrEqual(2 * MiB);
    }
    let stats = store.stats();
    expect(stats.evictions).toEqual({ thinned: expect.any(Number), dropped_synced: 0, dropped_unsynced: 0 });
    expect(stats.evictions.thinned).toBeGreaterThan(100_000);
    expect(rows('SELECT max(samples) FROM readings WHERE resolution_ms = 60000')).toBe(60);
    // The newest rows stay raw; thinned rows keep the flags of the readings they summarise.
    expect(rows('SELECT max(id) FROM readings')).toBe(200_000);
    expect(rows('SELECT count(*) FROM readings WHERE id > 190000 AND resolution_ms > 0')).toBe(0);
    expect(rows("SELECT count(*) FROM readings WHERE resolution_ms > 0 AND quality LIKE '%spike%'")).toBeGreaterThan(0);
    expect(rows('SELECT count(*) FROM readings WHERE resolution_ms = 0 AND samples <> 1')).toBe(0);

    // Phase 2: a new boot reporting once per 10 minutes: nothing left to average, so the oldest go.
    // The pages evictions free are reused by the next inserts, not given back to the disk and
    // grown again: once the budget is reached the file no longer shrinks.
    let oldestAtFirstDrop: number[] | null = null;
    let largestFile = fileBytes();
    for (let n = 0; n < 100_000; n++) {
      store.append({ ...nth(n), bootId: 'slow', uptimeMs: n * 150_000 });
      if (n % SENSORS.length === SENSORS.length - 1) clock.advance(600_000);
      if (n % 400 !== 399) continue;
      store.flush();
      expect(store.usedBytes()).toBeLessThanOrEqual(2 * MiB);
      expect(fileBytes()).toBeLessThanOrEqual(2.2 * MiB);
      expect(fileBytes()).toBeGreaterThanOrEqual(largestFile);
      largestFile = fileBytes();
      if (oldestAtFirstDrop === null && store.stats().evictions.dropped_synced > 0) {
        reader ??= new Database(path.join(dir, 'hygrocast.db'), { readonly: true });
        oldestAtFirstDrop = reader.prepare('SELECT resolution_ms FROM readings ORDER BY id LIMIT 100').pluck().all() as number[];
      }
    }
    // What was dropped first had already been thinned to the coarsest step (the survivors next to it are).
    expect(oldestAtFirstDrop).toEqual(new Array(100).fill(600_000));
    stats = store.stats();
    expect(stats.evictions.dropped_synced).toBeGreaterThan(0);
    expect(stats.evictions.dropped_unsynced).toBe(0); // no uplink: every reading counts as synced
    // Every appended reading is either stored or counted as evicted.
    const stored = rows('SELECT count(*) FROM readings') as number;
    expect(stats.readings).toBe(stored);
    expect(rows('SELECT min(id) FROM readings')).toBeGreaterThan(1);
  }, 60_000);

  it('thins a minute to the sample mean of its readings', () => {
    store = new SqliteStore({ dataDir: dir, clock, retentionBytes: 1 * MiB });
    let n = 0;
    while (store.stats().evictions.thinned === 0) {
      for (let i = 0; i < 400; i++) {
        store.append(nth(n++));
        if (n % SENSORS.length === 0) clock.advance(1000);
      }
      store.flush();
    }
    // The first thinned row of s1 covers seq 0..59 (minute 0 of the stream): rh = 40 + seq % 20.
    const first = reader ?? new Database(path.join(dir, 'hygrocast.db'), { readonly: true });
    reader = first;
    const row = first.prepare("SELECT seq, rh, quality, samples, resolution_ms FROM readings WHERE sensor_id = 's1' ORDER BY id LIMIT 1").get() as {
      seq: number; rh: number; quality: string; samples: number; resolution_ms: number;
    };
    expect(row).toMatchObject({ seq: 0, samples: 60, resolution_ms: 60_000, quality: 'spike' });
    expect(row.rh).toBeCloseTo(40 + 9.5, 6);
  }, 60_000);

  it('with an uplink, thins and drops only synced readings before touching unsynced ones', () => {
    store = new SqliteStore({ dataDir: dir, clock, retentionBytes: 1 * MiB, syncEnabled: true });
    let n = 0;
    let syncedLeftAtFirstUnsyncedDrop: number | null = null;
    for (let round = 0; round < 200 && syncedLeftAtFirstUnsyncedDrop === null; round++) {
      for (let i = 0; i < 400; i++) {
        store.append(nth(n++));
        if (n % SENSORS.length === 0) clock.advance(1000);
      }
      store.flush();
      if (round === 20) store.markSynced(n / 2); // the uplink delivered the older half of what exists now
      const { evictions } = store.stats();
      if (evictions.dropped_unsynced > 0) syncedLeftAtFirstUnsyncedDrop = rows('SELECT count(*) FROM readings WHERE synced = 1') as number;
      expect(store.usedBytes()).toBeLessThanOrEqual(1 * MiB);
    }
    const { evictions } = store.stats();
    expect(syncedLeftAtFirstUnsyncedDrop).toBe(0);
    expect(evictions.thinned).toBeGreaterThan(0);
    expect(evictions.dropped_synced).toBeGreaterThan(0);
    // Thinning never touched an unsynced reading.
    expect(rows('SELECT count(*) FROM readings WHERE synced = 0 AND resolution_ms > 0')).toBe(0);
  }, 60_000);

  it('shrinks the file when the budget is lowered', () => {
    store = new SqliteStore({ dataDir: dir, clock, retentionBytes: null });
    let n = 0;
    for (; n < 40_000; n++) store.append(nth(n));
    store.close();
    const file = path.join(dir, 'hygrocast.db');
    expect(fs.statSync(file).size).toBeGreaterThan(3 * MiB);
    store = new SqliteStore({ dataDir: dir, clock, retentionBytes: 1 * MiB });
    for (let i = 0; i < 400; i++) store.append(nth(n++));
    store.flush();
    expect(store.usedBytes()).toBeLessThanOrEqual(1 * MiB);
    store.close();
    store = null;
    expect(fs.statSync(file).size).toBeLessThanOrEqual(1.1 * MiB);
  });

  it('rejects a budget below 1 MiB with a message naming it', () => {
    expect(() => new SqliteStore({ dataDir: dir, retentionBytes: 1000 })).toThrow(/retentionBytes/);
  });
});
