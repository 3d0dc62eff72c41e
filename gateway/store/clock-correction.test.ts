import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { ClockTrust } from '../clock-trust.ts';
import type { Reading } from '../types.ts';
import { MAX_UNTRUSTED_SYNC_HOLD_MS, SqliteStore, UNTRUSTED_SYNC_GRACE_MS } from './sqlite-store.ts';

const DAY = 86_400_000;
/** A Pi without RTC boots with the time it last saved (fake-hwclock): months behind. */
const STALE_BOOT_TIME = Date.UTC(2026, 0, 1);
const REAL_TIME_OFFSET = 300 * DAY;

let dir: string;
let clock: ManualClock;
let ntpSynced: boolean;
let trust: ClockTrust;
const stores: SqliteStore[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-clock-'));
  clock = new ManualClock(STALE_BOOT_TIME);
  ntpSynced = false;
  trust = new ClockTrust({ mode: 'auto', clock, probe: async () => ntpSynced });
  await trust.start();
});

afterEach(() => {
  trust.stop();
  for (const s of stores.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(syncEnabled = false): SqliteStore {
  const store = new SqliteStore({ dataDir: dir, clock, timeTrusted: () => trust.isTrusted(), syncEnabled });
  stores.push(store);
  return store;
}

/** A reading as the bridge makes it: device uptime from the monotonic clock, wall time from the (maybe wrong) wall clock. */
function take(seq: number, bootId = 'boot-1', sensorId = 'kitchen'): Reading {
  return { sensorId, bootId, seq, uptimeMs: clock.monotonic(), wallTimeMs: clock.now(), rh: 50 + seq, tempC: 20, quality: [] };
}

async function ntpSyncs(): Promise<void> {
  clock.jumpWall(REAL_TIME_OFFSET);
  ntpSynced = true;
  expect(await trust.check()).toBe(true);
}

describe('clock correction', () => {
  it('rewrites the wall time of readings taken before the clock was trusted, stored and buffered, keeping their order', async () => {
    const store = open();
    const taken: Reading[] = [];
    for (let seq = 0; seq < 10; seq++) {
      if (seq === 4) clock.jumpWall(-3_600_000); // a jump backwards while untrusted must not reorder readings
      taken.push(take(seq));
      store.append(taken[seq]!);
      if (seq === 5) store.flush(); // 0..5 stored, 6..9 buffered when the clock becomes trusted
      clock.advance(1000);
    }
    expect(store.recent('kitchen', 0, 100).map((r) => r.seq)).not.toEqual(taken.map((r) => r.seq)); // wrong order before
    await ntpSyncs();
    const anchor = take(10);
    store.append(anchor);
    const expectedWall = (r: Reading): number => anchor.wallTimeMs - (anchor.uptimeMs - r.uptimeMs);

    const buffered = store.recent('kitchen', anchor.wallTimeMs - 5000, 100);
    expect(buffered.map((r) => r.seq)).toEqual([6, 7, 8, 9, 10]);
    store.flush();

    const all = store.recent('kitchen', 0, 100);
    expect(all.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // none merged, in device order
    for (const r of all) expect(r.wallTimeMs).toBe(expectedWall(taken[r.seq] ?? anchor));
    // The anchor's wall time includes every jump (-1 h, then NTP's +300 days); elapsed time comes from uptime.
    expect(all[0]!.wallTimeMs).toBe(STALE_BOOT_TIME - 3_600_000 + REAL_TIME_OFFSET);
    store.close();
    const db = new Database(path.join(dir, 'hygrocast.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM readings WHERE time_trusted = 0').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('remembers untrusted boots across a restart and leaves a boot without any trusted reading untouched', async () => {
    const first = open();
    first.append(take(0, 'boot-A'));
    first.append(take(0, 'boot-gone', 'cellar'));
    clock.advance(1000);
    first.append(take(1, 'boot-A'));
    first.close();

    await ntpSyncs();
    const second = open();
    clock.advance(1000);
    const anchor = take(2, 'boot-A');
    second.append(anchor);
    second.flush();
    expect(second.recent('kitchen', 0).map((r) => [r.seq, r.wallTimeMs])).toEqual([
      [0, anchor.wallTimeMs - 2000],
      [1, anchor.wallTimeMs - 1000],
      [2, anchor.wallTimeMs],
    ]);
    // The cellar's device rebooted before the clock was trusted: its rows keep their flag and time.
    expect(second.recent('cellar', 0).map((r) => r.wallTimeMs)).toEqual([STALE_BOOT_TIME]);
  });

  it('holds readings with an untrusted time back from sync until corrected, then sends them with the corrected time', async () => {
    const store = open(true);
    store.append(take(0, 'boot-A'));
    store.append(take(0, 'boot-gone', 'cellar'));
    clock.advance(1000);
    store.append(take(1, 'boot-A'));
    store.flush();
    // The central server keeps the first copy of a reading: none goes out with a 1970-or-stale time.
    expect(store.unsyncedAfter(0, 100)).toEqual([]);
    await ntpSyncs();
    clock.advance(1000);
    const anchor = take(2, 'boot-A');
    store.append(anchor);
    store.flush();
    // boot-A is corrected; the cellar's boot ended before the clock was trusted: sync stops before its reading.
    const corrected = [['kitchen', 0, anchor.wallTimeMs - 2000]];
    expect(store.unsyncedAfter(0, 100).map((r) => [r.sensorId, r.seq, r.wallTimeMs])).toEqual(corrected);
    clock.advance(UNTRUSTED_SYNC_GRACE_MS - 1);
    expect(store.unsyncedAfter(0, 100).map((r) => [r.sensorId, r.seq, r.wallTimeMs])).toEqual(corrected);
    clock.advance(1);
    // Past the grace the uncorrectable reading goes out as it is, rather than never.
    const sent = store.unsyncedAfter(0, 100);
    expect(sent.map((r) => [r.sensorId, r.seq, r.wallTimeMs])).toEqual([
      ['kitchen', 0, anchor.wallTimeMs - 2000],
      ['cellar', 0, STALE_BOOT_TIME],
      ['kitchen', 1, anchor.wallTimeMs - 1000],
      ['kitchen', 2, anchor.wallTimeMs],
    ]);
  });

  it('sends corrected readings as soon as no untrusted one is left, without waiting for the grace', async () => {
    const store = open(true);
    store.append(take(0));
    clock.advance(1000);
    store.append(take(1));
    store.flush();
    expect(store.unsyncedAfter(0, 100)).toEqual([]);
    await ntpSyncs();
    clock.advance(1000);
    const anchor = take(2);
    store.append(anchor);
    store.flush();
    expect(store.unsyncedAfter(0, 100).map((r) => r.wallTimeMs)).toEqual([anchor.wallTimeMs - 2000, anchor.wallTimeMs - 1000, anchor.wallTimeMs]);
  });

  it('does not hold sync for good when the clock is never trusted (no NTP on the network)', () => {
    const store = open(true);
    store.append(take(0));
    store.flush();
    expect(store.unsyncedAfter(0, 100)).toEqual([]);
    clock.advance(MAX_UNTRUSTED_SYNC_HOLD_MS - 1);
    expect(store.unsyncedAfter(0, 100)).toEqual([]);
    clock.advance(1);
    expect(store.unsyncedAfter(0, 100).map((r) => r.seq)).toEqual([0]);
    store.markSyncedRange(0, 1);
    // Later readings go at once while the clock stays untrusted: no new hour of waiting each time.
    store.append(take(1));
    store.flush();
    expect(store.unsyncedAfter(0, 100).map((r) => r.seq)).toEqual([1]);
  });

  it('takes an explicit anchor and rejects a bad one', () => {
    const store = open();
    store.append(take(0));
    clock.advance(5000);
    store.append(take(1));
    store.flush();
    store.correctBootTime('kitchen', 'boot-1', { wallTimeMs: Date.UTC(2026, 10, 20), uptimeMs: 5000 });
    store.flush();
    expect(store.recent('kitchen', 0).map((r) => r.wallTimeMs)).toEqual([Date.UTC(2026, 10, 20) - 5000, Date.UTC(2026, 10, 20)]);
    expect(() => store.correctBootTime('kitchen', 'boot-1', { wallTimeMs: Number.NaN, uptimeMs: 0 })).toThrow(/anchor/);
  });
});
