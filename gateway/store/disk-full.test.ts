import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { createLogger } from '../log.ts';
import { ReadingPipeline } from '../pipeline.ts';
import { startFlushTimer } from './flush-timer.ts';
import { SqliteStore } from './sqlite-store.ts';
import { reading } from './store.contract.ts';

let dir: string;
let store: SqliteStore | null = null;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-full-'));
});

afterEach(() => {
  store?.close();
  store = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

const silent = createLogger('fatal', new Writable({ write: (_c, _e, done) => done() }));

describe('a full disk (SQLITE_FULL)', () => {
  it('keeps live readings flowing, reports the error, and resumes with every buffered reading when space returns', () => {
    const clock = new ManualClock();
    const logged: string[] = [];
    store = new SqliteStore({ dataDir: dir, clock, maxDatabaseBytes: 64 * 1024, logger: (m) => logged.push(m) });
    const bus = new GatewayBus();
    const published: number[] = [];
    bus.on('reading', (r) => published.push(r.seq));
    const pipeline = new ReadingPipeline(store, bus, silent);
    const flushErrors: string[] = [];
    const stopTimer = startFlushTimer(store, clock, 1000, (err) => flushErrors.push((err as { code: string }).code));

    // 3000 readings over 3 s: more than 64 KiB holds, so the flushes from the second one on fail.
    for (let seq = 1; seq <= 3000; seq++) {
      pipeline.accept(reading(seq));
      if (seq % 1000 === 0) clock.advance(1000);
    }
    expect(published).toHaveLength(3000); // live publishing never waited for the disk
    expect(flushErrors.length).toBeGreaterThan(0);
    expect(new Set(flushErrors)).toEqual(new Set(['SQLITE_FULL']));
    const during = store.stats();
    expect(during.writeError).toBe('SQLITE_FULL');
    expect(during.pending).toBeGreaterThan(0);
    expect(during.readings + during.pending).toBe(3000);
    expect(logged.filter((m) => m.includes('store writes failing (SQLITE_FULL'))).toHaveLength(1);

    // Space returns: the next tick writes everything that was buffered.
    store.setMaxDatabaseBytes(null);
    clock.advance(1000);
    const after = store.stats();
    expect(after).toMatchObject({ writeError: null, pending: 0, readings: 3000, dropped: 0 });
    expect(store.recent('kitchen', 0, 5000).map((r) => r.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(logged.some((m) => m.includes('store writes resumed after SQLITE_FULL'))).toBe(true);
    stopTimer();
  });

  it('rejects a bad runtime cap with a message naming it', () => {
    store = new SqliteStore({ dataDir: dir });
    expect(() => store?.setMaxDatabaseBytes(10)).toThrow(/maxDatabaseBytes/);
  });
});
