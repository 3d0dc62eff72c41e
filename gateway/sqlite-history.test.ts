import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bucketMeans } from './dashboard/public/lib/history.js';
import { openSqliteHistory, SqliteHistory } from './sqlite-history.ts';
import { SqliteStore } from './store/sqlite-store.ts';
import type { Reading } from './types.ts';

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;

function r(seq: number, wallTimeMs: number, rh: number | null, quality: Reading['quality'] = []): Reading {
  return { sensorId: 'a', bootId: 'b', seq, uptimeMs: seq, wallTimeMs, rh, tempC: 20, quality };
}

describe('SqliteHistory', () => {
  const dirs: string[] = [];
  const closers: (() => void)[] = [];
  afterEach(() => {
    closers.splice(0).forEach((c) => c());
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function storeWith(readings: Reading[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-history-'));
    dirs.push(dir);
    const store = new SqliteStore({ dataDir: dir });
    closers.push(() => store.close());
    for (const x of readings) store.append(x);
    store.flush();
    return dir;
  }

  it('gives the same per-minute means as the page and the fallback (bucketMeans), flags and gaps left out', () => {
    const readings = [
      r(1, T0 + 1000, 40),
      r(2, T0 + 30_000, 42.5),
      r(3, T0 + 40_000, 99, ['spike']),
      r(4, T0 + 50_000, 98, ['out_of_range', 'stuck']),
      r(5, T0 + MIN + 1, null, ['sensor_error']),
      r(6, T0 + 2 * MIN, 50.123),
      r(7, T0 + 2 * MIN + 10, 51, ['stuck']), // a flag that does not make a value unusable
      r(8, T0 + 3 * MIN, 60),
    ];
    const history = new SqliteHistory(storeWith(readings));
    closers.unshift(() => history.close());
    const got = history.minuteMeans('a', T0, T0 + 3 * MIN, MIN);
    expect(got).toEqual(bucketMeans(readings.filter((x) => x.wallTimeMs < T0 + 3 * MIN), MIN));
    expect(got).toEqual({ bucketMs: MIN, tMs: [T0, T0 + 2 * MIN], rh: [41.25, 50.56], n: [2, 2] });
    expect(history.minuteMeans('other', T0, T0 + 3 * MIN, MIN).tMs).toEqual([]);
    expect(history.minuteMeans('a', T0 + 2 * MIN, T0 + 4 * MIN, MIN).tMs).toEqual([T0 + 2 * MIN, T0 + 3 * MIN]);
  });

  it('reports a missing database instead of creating one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-history-'));
    dirs.push(dir);
    const errors: unknown[] = [];
    expect(openSqliteHistory(dir, (e) => errors.push(e))).toBeNull();
    expect(errors).toHaveLength(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
