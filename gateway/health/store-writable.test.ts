import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { startFlushTimer } from '../store/flush-timer.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { SqliteWriteProbe } from './sqlite-probe.ts';
import { StoreWritableCheck } from './store-writable.ts';

describe('StoreWritableCheck', () => {
  it('passes while the flush timer keeps succeeding', () => {
    const clock = new ManualClock();
    const check = new StoreWritableCheck({ clock, flushIntervalMs: 1000 });
    const stop = startFlushTimer(check.instrument(new MemoryStore()), clock, 1000, () => {});
    expect(check.run()).toEqual({ ok: true, detail: 'waiting for the first flush' });
    clock.advance(10_500);
    expect(check.run()).toEqual({ ok: true, detail: 'last flush 500 ms ago' });
    stop();
  });

  it('fails when flushes stop for more than 2 intervals (a wedged flush timer)', () => {
    const clock = new ManualClock();
    const check = new StoreWritableCheck({ clock, flushIntervalMs: 1000 });
    const stop = startFlushTimer(check.instrument(new MemoryStore()), clock, 1000, () => {});
    clock.advance(5000);
    stop();
    clock.advance(2000);
    expect(check.run().ok).toBe(true);
    clock.advance(1);
    expect(check.run()).toEqual({ ok: false, detail: 'last flush 2001 ms ago (expected every 1000 ms)' });
  });

  it('fails with the SQLite code when the last flush failed, and recovers after a good flush', () => {
    const clock = new ManualClock();
    const check = new StoreWritableCheck({ clock, flushIntervalMs: 1000 });
    const store = new MemoryStore();
    let full = false;
    const instrumented = check.instrument({
      append: (r) => store.append(r),
      recent: (a, b, c) => store.recent(a, b, c),
      stepAggregates: (a, q) => store.stepAggregates(a, q),
      sensors: () => store.sensors(),
      stats: () => store.stats(),
      close: () => store.close(),
      flush: () => {
        if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        return store.flush();
      },
    });
    const errors: unknown[] = [];
    const stop = startFlushTimer(instrumented, clock, 1000, (err) => errors.push(err));
    clock.advance(1000);
    full = true;
    clock.advance(1000);
    expect(errors).toHaveLength(1);
    expect(check.run()).toEqual({ ok: false, detail: 'last flush failed 0 ms ago: SQLITE_FULL: database or disk is full' });
    full = false;
    clock.advance(1000);
    expect(check.run().ok).toBe(true);
    stop();
  });

  it('no flush since start beyond the grace fails without a probe', () => {
    const clock = new ManualClock();
    const check = new StoreWritableCheck({ clock, flushIntervalMs: 500 });
    clock.advance(1001);
    expect(check.run()).toEqual({ ok: false, detail: 'no flush since start 1001 ms ago (expected every 500 ms)' });
  });

  it('asks the write probe when the last flush failed: fails only when the file system refuses writes too', () => {
    const clock = new ManualClock();
    let probeWorks = true;
    const check = new StoreWritableCheck({
      clock,
      flushIntervalMs: 1000,
      probe: () => {
        if (!probeWorks) throw Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' });
      },
    });
    // Another process holds the database's lock: a restart would lose the buffer and cure nothing.
    check.noteFlushFailed(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
    expect(check.run()).toEqual({ ok: true, detail: 'last flush failed 0 ms ago: SQLITE_BUSY: database is locked; the write probe succeeded' });
    probeWorks = false;
    expect(check.run()).toEqual({
      ok: false,
      detail: 'last flush failed 0 ms ago: SQLITE_BUSY: database is locked; the write probe failed: SQLITE_READONLY: attempt to write a readonly database',
    });
  });

  it('fails a flush timer that stopped firing whatever the probe says (the probe writes its own file)', () => {
    const clock = new ManualClock();
    const check = new StoreWritableCheck({ clock, flushIntervalMs: 1000, probe: () => {} });
    clock.advance(5000);
    expect(check.run()).toEqual({ ok: false, detail: 'no flush since start 5000 ms ago (expected every 1000 ms)' });
    check.noteFlushOk();
    clock.advance(120_000);
    expect(check.run()).toEqual({ ok: false, detail: 'last flush 120000 ms ago (expected every 1000 ms)' });
    // A failure that is old is no evidence either: flushes stopped after it.
    check.noteFlushFailed(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }));
    clock.advance(60_000);
    expect(check.run().ok).toBe(false);
  });

  it('rejects a bad flush interval by name', () => {
    expect(() => new StoreWritableCheck({ clock: new ManualClock(), flushIntervalMs: 0 })).toThrow(/flushIntervalMs must be an integer/);
  });
});

describe('SqliteWriteProbe', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-probe-'));
    dirs.push(dir);
    return dir;
  }

  it('writes one row to its own file, again and again', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const probe = new SqliteWriteProbe({ dataDir: dir, clock });
    probe.run();
    clock.advance(1000);
    probe.run();
    probe.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(probe.file, { readonly: true });
    expect(db.prepare('SELECT id, written_at_ms AS at FROM probe').all()).toEqual([{ id: 1, at: clock.now() }]);
    db.close();
  });

  it('fails with HEALTH_PROBE_FAILED and the SQLite code when the folder cannot be written, and recovers', () => {
    // A file where the folder should be fails for every user, root included (unlike chmod).
    const parent = tempDir();
    const dataDir = path.join(parent, 'data');
    fs.writeFileSync(dataDir, 'not a folder');
    const probe = new SqliteWriteProbe({ dataDir, clock: new ManualClock() });
    expect(() => probe.run()).toThrow(expect.objectContaining({ code: 'HEALTH_PROBE_FAILED', errno: 'SQLITE_CANTOPEN' }));
    expect(() => probe.run()).toThrow(/cannot write .*data\/health-probe\.db/);
    fs.rmSync(dataDir);
    fs.mkdirSync(dataDir);
    expect(() => probe.run()).not.toThrow();
    probe.close();
  });
});
