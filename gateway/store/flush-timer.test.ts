import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { Reading } from '../types.ts';
import { startFlushTimer, throttledFailureLog } from './flush-timer.ts';
import { MemoryStore } from './memory-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import { reading } from './store.contract.ts';
import type { ReadingStore, StepQuery } from './store.ts';

/** A real SqliteStore whose next `failures` flushes fail the way a full disk does. */
class DiskFullFor implements ReadingStore {
  constructor(
    readonly inner: SqliteStore,
    private failures: number,
  ) {}
  append(r: Reading): boolean {
    return this.inner.append(r);
  }
  flush(): number {
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    }
    return this.inner.flush();
  }
  recent(sensorId: string, sinceMs: number, limit?: number) {
    return this.inner.recent(sensorId, sinceMs, limit);
  }
  stepAggregates(sensorId: string, query: StepQuery) {
    return this.inner.stepAggregates(sensorId, query);
  }
  sensors(): string[] {
    return this.inner.sensors();
  }
  stats() {
    return this.inner.stats();
  }
  close(): void {
    this.inner.close();
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('startFlushTimer', () => {
  it('flushes every interval and stops', () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const stop = startFlushTimer(store, clock, 1000, (err) => {
      throw err;
    });
    store.append(reading(1));
    clock.advance(999);
    expect(store.stats().pending).toBe(1);
    clock.advance(1);
    expect(store.stats()).toMatchObject({ pending: 0, readings: 1 });
    stop();
    store.append(reading(2));
    clock.advance(10_000);
    expect(store.stats().pending).toBe(1);
    stop();
  });

  it('reports a failing flush, keeps the readings and loses none once it succeeds', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-timer-'));
    dirs.push(dataDir);
    const clock = new ManualClock();
    const store = new DiskFullFor(new SqliteStore({ dataDir, clock }), 2);
    const errors: unknown[] = [];
    const recovered: number[] = [];
    const stop = startFlushTimer(store, clock, 500, (err) => errors.push(err), (n) => recovered.push(n));
    try {
      for (let i = 1; i <= 10; i++) store.append(reading(i));
      clock.advance(500);
      store.append(reading(11));
      clock.advance(500);
      expect(errors.map((e) => (e as { code: string }).code)).toEqual(['SQLITE_FULL', 'SQLITE_FULL']);
      expect(store.stats()).toMatchObject({ pending: 11, readings: 0 });
      expect(recovered).toEqual([]);
      clock.advance(500);
      expect(errors).toHaveLength(2);
      expect(recovered).toEqual([2]);
      expect(store.stats()).toMatchObject({ pending: 0, readings: 11, dropped: 0 });
      clock.advance(500);
      expect(recovered).toEqual([2]); // once per recovery, not on every good flush
    } finally {
      stop();
      store.close();
    }
    const reopened = new SqliteStore({ dataDir, clock });
    try {
      expect(reopened.recent('kitchen', 0).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    } finally {
      reopened.close();
    }
  });

  it('keeps running when the error handler itself throws', () => {
    const clock = new ManualClock();
    let calls = 0;
    const failing = new MemoryStore();
    failing.flush = () => {
      calls++;
      throw new Error('boom');
    };
    const stop = startFlushTimer(failing, clock, 100, () => {
      throw new Error('handler bug');
    });
    clock.advance(300);
    stop();
    expect(calls).toBe(3);
  });

  it('a full disk failing every second is logged at once, then once a minute with the count held back', () => {
    const clock = new ManualClock();
    const failing = new MemoryStore();
    let full = true;
    const inner = failing.flush.bind(failing);
    failing.flush = () => {
      if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      return inner();
    };
    const logged: number[] = [];
    const log = throttledFailureLog(clock, 60_000, (_err, suppressed) => logged.push(suppressed));
    const stop = startFlushTimer(failing, clock, 1000, log.onError, () => log.reset());
    clock.advance(1000);
    expect(logged).toEqual([0]);
    clock.advance(59_000); // ticks 2..60: held back
    expect(logged).toEqual([0]);
    clock.advance(1000); // tick 61, 60 s after the first log
    expect(logged).toEqual([0, 59]);
    full = false;
    clock.advance(1000);
    full = true;
    clock.advance(1000); // a new episode after recovery is logged at once
    expect(logged).toEqual([0, 59, 0]);
    stop();
  });

  it('rejects a bad interval', () => {
    expect(() => startFlushTimer(new MemoryStore(), new ManualClock(), 0, () => {})).toThrow(/flushIntervalMs/);
  });
});
