import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import { cleanupAfterEach } from '../test/cleanups.ts';
import { testCentralConfig } from '../test/sync-helpers.ts';
import { ACCURACY_PRUNE_INTERVAL_MS, DAY_MS, scheduleAccuracyRetention } from './accuracy-retention.ts';
import { startCentral } from './app.ts';
import { SqliteCentralStorage } from './storage/sqlite-storage.ts';
import type { ModelReport } from './storage/storage.ts';

const HOUR = 3_600_000;
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('scheduleAccuracyRetention', () => {
  it('prunes at once, then hourly on the injected clock, before now minus the retention, until stopped', async () => {
    const clock = new ManualClock();
    const cutoffs: number[] = [];
    const pruned: number[] = [];
    const storage = { pruneAccuracyReports: (beforeMs: number) => Promise.resolve(cutoffs.push(beforeMs)) };
    const s = scheduleAccuracyRetention(storage, 400, clock, (n) => pruned.push(n), (err) => {
      throw err;
    });
    const start = clock.now();
    expect(cutoffs).toEqual([start - 400 * DAY_MS]);
    await settle();
    clock.advance(ACCURACY_PRUNE_INTERVAL_MS - 1);
    expect(cutoffs).toHaveLength(1);
    clock.advance(1);
    await settle();
    clock.advance(HOUR);
    await settle();
    expect(ACCURACY_PRUNE_INTERVAL_MS).toBe(HOUR);
    expect(cutoffs).toEqual([start - 400 * DAY_MS, start + HOUR - 400 * DAY_MS, start + 2 * HOUR - 400 * DAY_MS]);
    expect(pruned).toEqual([1, 2, 3]);
    await s.stop();
    clock.advance(10 * HOUR);
    expect(cutoffs).toHaveLength(3);
  });

  it('skips a tick while a pass is running, reports a failure to onError, and stop() waits for the pass', async () => {
    const clock = new ManualClock();
    const finish: Array<(result: number | Error) => void> = [];
    const storage = {
      pruneAccuracyReports: () => new Promise<number>((resolve, reject) => finish.push((r) => (r instanceof Error ? reject(r) : resolve(r)))),
    };
    const errors: unknown[] = [];
    const s = scheduleAccuracyRetention(storage, 1, clock, () => undefined, (err) => errors.push(err));
    clock.advance(HOUR);
    expect(finish).toHaveLength(1); // the hourly tick found the first pass still running
    finish[0]!(new Error('disk I/O error'));
    await settle();
    expect(errors).toMatchObject([{ message: 'disk I/O error' }]);
    clock.advance(HOUR);
    expect(finish).toHaveLength(2);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    finish[1]!(0);
    await stopping;
    expect(stopped).toBe(true);
  });
});

describe('the central server keeps accuracy reports for accuracyRetentionDays', () => {
  const cleanups = cleanupAfterEach();

  it('deletes expired reports at start and hourly after, by its clock', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-retention-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const clock = new ManualClock();
    const now = clock.now();
    const live = (atMs: number): ModelReport => ({ kind: 'accuracy', modelVersion: 'v1', outcome: 'live', accuracy: { sensorId: 's1', windowS: 86_400, horizons: [{ horizonS: 600, mae: 0.2, n: 1 }] }, atMs });
    const seed = new SqliteCentralStorage({ dataDir });
    await seed.start();
    for (const atMs of [now - 31 * DAY_MS, now - 30 * DAY_MS + HOUR / 2, now - DAY_MS]) await seed.addReport('gw1', live(atMs));
    await seed.close();

    const app = await startCentral({ ...testCentralConfig(0, dataDir), accuracyRetentionDays: 30 }, clock);
    cleanups.push(() => app.stop());
    const kept = async (): Promise<number[]> => (await app.storage.accuracyReports({}, 10)).map((r) => r.atMs).sort((a, b) => a - b);
    expect(await kept()).toEqual([now - 30 * DAY_MS + HOUR / 2, now - DAY_MS]);
    clock.advance(HOUR);
    await settle();
    expect(await kept()).toEqual([now - DAY_MS]);
  });
});
