import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import { DB_FILE_NAME, SqliteStore } from './sqlite-store.ts';
import { reading } from './store.contract.ts';

let rootDir: string;
let dataDir: string;
let clock: ManualClock;
const stores: SqliteStore[] = [];

function open(options: Partial<ConstructorParameters<typeof SqliteStore>[0]> = {}): SqliteStore {
  const store = new SqliteStore({ dataDir, clock, ...options });
  stores.push(store);
  return store;
}

beforeEach(() => {
  clock = new ManualClock(Date.UTC(2026, 2, 4, 5, 6, 7));
  rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-sqlite-'));
  dataDir = rootDir;
});

afterEach(() => {
  for (const s of stores.splice(0)) {
    try {
      s.close();
    } catch {
      // closed by the test, or its final flush was made to fail on purpose
    }
  }
  fs.rmSync(rootDir, { recursive: true, force: true });
});

describe('SqliteStore', () => {
  it('weights a thinned row by its samples in stepAggregates(), as the readings it replaced', () => {
    const store = open();
    store.append(reading(1, { rh: 40 }));
    store.append(reading(2, { rh: 50 }));
    store.flush();
    // What thinning leaves (eviction.ts): one row holding the mean of 3 readings.
    const other = new Database(path.join(dataDir, DB_FILE_NAME));
    other.prepare('UPDATE readings SET samples = 3, resolution_ms = 60000 WHERE seq = 1').run();
    other.close();
    const [step] = store.stepAggregates('kitchen', { fromMs: reading(0).wallTimeMs, toMs: reading(10).wallTimeMs, stepMs: 60_000, unusableFlags: ['spike'] });
    expect(step).toMatchObject({ usable: 4, meanRh: (3 * 40 + 50) / 4 });
  });

  it('creates the data folder and the database file', () => {
    dataDir = path.join(dataDir, 'nested', 'deeper');
    const store = open();
    expect(fs.existsSync(path.join(dataDir, DB_FILE_NAME))).toBe(true);
    expect(store.file).toBe(path.join(dataDir, DB_FILE_NAME));
  });

  it('runs in WAL mode with synchronous = NORMAL', () => {
    const store = open();
    expect(store.journalMode()).toBe('wal');
    store.close();
    const db = new Database(path.join(dataDir, DB_FILE_NAME), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('records the applied migrations once', () => {
    const first = open();
    const applied = [
      { version: 1, name: 'readings', appliedAtMs: clock.now() },
      { version: 2, name: 'time_trusted_and_thinning', appliedAtMs: clock.now() },
      { version: 3, name: 'unsynced_index', appliedAtMs: clock.now() },
    ];
    expect(first.migrations()).toEqual(applied);
    expect(SCHEMA_VERSION).toBe(3);
    first.close();
    clock.advance(60_000);
    const second = open();
    expect(second.migrations()).toEqual(applied);
  });

  it("answers the uplink's questions from the unsynced rows' index, not by scanning the table", () => {
    open().close();
    const db = new Database(path.join(dataDir, 'hygrocast.db'), { readonly: true });
    try {
      const plan = (sql: string): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join('; ');
      expect(plan('SELECT count(*), min(wall_ms) FROM readings WHERE synced = 0')).toMatch(/USING INDEX readings_unsynced/);
      expect(plan('SELECT id FROM readings WHERE id > 5 AND id < 100 AND synced = 0 ORDER BY id LIMIT 10')).toMatch(/readings_unsynced/);
    } finally {
      db.close();
    }
  });

  it('applies a later migration in order, and refuses a file newer than it knows', () => {
    const file = path.join(dataDir, 'm.db');
    const db = new Database(file);
    try {
      const steps = [
        { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER)' },
        { version: 2, name: 'b', sql: 'ALTER TABLE a ADD COLUMN y INTEGER' },
      ];
      expect(migrate(db, 1, steps.slice(0, 1))).toEqual([1]);
      expect(migrate(db, 2, steps)).toEqual([2]);
      expect(migrate(db, 3, steps)).toEqual([]);
      expect(() => migrate(db, 4, steps.slice(0, 1))).toThrow(expect.objectContaining({ code: 'STORE_SCHEMA_TOO_NEW' }));
    } finally {
      db.close();
    }
  });

  it('rolls back a failing migration step as a whole', () => {
    const db = new Database(':memory:');
    try {
      const broken = [{ version: 1, name: 'half', sql: 'CREATE TABLE ok (x); CREATE TABLE ok (x);' }];
      expect(() => migrate(db, 1, broken)).toThrow(/already exists/);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'ok'").pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM schema_migrations').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('keeps readings across close and reopen, ids continuing', () => {
    const first = open();
    first.append(reading(1));
    first.append(reading(2, { sensorId: 'cellar', quality: ['stuck'] }));
    first.close();
    const second = open();
    expect(second.sensors()).toEqual(['cellar', 'kitchen']);
    expect(second.stats()).toMatchObject({ readings: 2, pending: 0 });
    expect(second.recent('cellar', 0)).toEqual([{ ...reading(2, { sensorId: 'cellar', quality: ['stuck'] }), id: 2 }]);
    second.append(reading(1));
    second.append(reading(3));
    expect(second.stats().duplicates).toBe(1);
    second.flush();
    expect(second.recent('kitchen', 0).map((r) => r.id)).toEqual([1, 3]);
    expect(second.stats().bytes).toBeGreaterThan(0);
  });

  it('moves a file that is not a database aside and starts fresh', () => {
    const file = path.join(dataDir, DB_FILE_NAME);
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const logged: string[] = [];
    const store = open({ logger: (m) => logged.push(m) });
    const expected = `${file}.corrupt-2026-03-04T05-06-07-000Z`;
    expect(fs.readFileSync(expected)).toEqual(Buffer.alloc(8192, 0x5a));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(expected);
    expect(logged[0]).toMatch(/damaged/);
    store.append(reading(1));
    expect(store.flush()).toBe(1);
    expect(store.journalMode()).toBe('wal');
  });

  it('moves a database with damaged pages aside and starts fresh', () => {
    const first = open();
    for (let i = 1; i <= 3000; i++) first.append(reading(i));
    first.close();
    const file = path.join(dataDir, DB_FILE_NAME);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBeGreaterThan(16 * 4096);
    // Keep the 100-byte header valid (so SQLite opens it) and scribble over the pages behind it.
    const garbage = Buffer.alloc(bytes.length - 4096 * 2, 0xa5);
    garbage.copy(bytes, 4096 * 2);
    fs.writeFileSync(file, bytes);
    const logged: string[] = [];
    const second = open({ logger: (m) => logged.push(m) });
    expect(logged.join('\n')).toMatch(/damaged.*corrupt-/);
    expect(second.stats().readings).toBe(0);
    expect(fs.readdirSync(dataDir).some((f) => f.startsWith(`${DB_FILE_NAME}.corrupt-`))).toBe(true);
  });

  it('on a full database the flush rolls back and keeps every buffered reading', () => {
    const store = open({ maxDatabaseBytes: 64 * 1024 });
    for (let i = 1; i <= 5000; i++) store.append(reading(i));
    expect(() => store.flush()).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }));
    expect(store.stats()).toMatchObject({ readings: 0, pending: 5000, flushes: 0 });
    expect(store.recent('kitchen', 0, 5000)).toHaveLength(5000);
    expect(() => store.close()).toThrow(expect.objectContaining({ code: 'STORE_CLOSE_FLUSH_FAILED', message: expect.stringMatching(/5000 buffered/) }));
  });

  it('while flushes fail, a full buffer drops its oldest readings instead of growing', () => {
    const logged: string[] = [];
    const store = open({ maxDatabaseBytes: 64 * 1024, maxPendingReadings: 2000, logger: (m) => logged.push(m) });
    for (let i = 1; i <= 2500; i++) store.append(reading(i));
    expect(store.stats()).toMatchObject({ pending: 2000, dropped: 500, readings: 0 });
    expect(store.recent('kitchen', 0, 1)[0]?.seq).toBe(2500);
    expect(store.recent('kitchen', 0, 2000)[0]?.seq).toBe(501);
    expect(logged.filter((m) => m.includes('SQLITE_FULL'))).toHaveLength(1);
  });

  it('rejects bad options with a message naming them', () => {
    expect(() => open({ maxPendingReadings: 0 })).toThrow(/maxPendingReadings/);
    expect(() => open({ dataDir: '' })).toThrow(/dataDir/);
  });

  it('fails to open with STORE_OPEN_FAILED when the folder cannot be created', () => {
    const blocker = path.join(dataDir, 'file');
    fs.writeFileSync(blocker, 'x');
    expect(() => open({ dataDir: path.join(blocker, 'sub') })).toThrow(expect.objectContaining({ code: 'STORE_OPEN_FAILED' }));
  });
});
