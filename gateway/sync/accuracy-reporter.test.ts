import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../../central/app.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';
import { freePort, registerGateway, testCentralConfig, until } from '../../test/sync-helpers.ts';
import { ManualClock } from '../clock.ts';
import { loadConfig } from '../config/load.ts';
import { ForecastLog } from '../forecast/forecast-log.ts';
import { createLogger } from '../log.ts';
import type { Forecast } from '../types.ts';
import { AccuracyReporter, type AccuracyReport } from './accuracy-reporter.ts';
import { startAccuracyReports } from './start-accuracy-reports.ts';
import { SyncError } from './sync-types.ts';

const STEP = 600_000;
const HOUR = 3_600_000;

function forecast(baseMs: number, sensorId: string, rh: number): Forecast {
  return {
    sensorId,
    issuedAtMs: baseMs,
    baseTimeMs: baseMs,
    modelVersion: 'm1',
    warmingUp: false,
    points: [
      { horizonS: 600, rh, lower: rh - 1, upper: rh + 1 },
      { horizonS: 1200, rh: rh + 2, lower: rh + 1, upper: rh + 3 },
    ],
  };
}

/** A forecast log on an in-memory database with one scored forecast per sensor (truth 50 %RH). */
function scoredLog(clock: ManualClock, sensors: string[]): { log: ForecastLog; db: Database.Database } {
  const db = new Database(':memory:');
  const log = new ForecastLog({ db, clock, stepMs: STEP });
  for (const s of sensors) log.record(log.calibrate(forecast(clock.now(), s, 50.5), 0.8));
  clock.advance(2 * STEP);
  log.score(() => 50);
  return { log, db };
}

/** Lets the pass a timer started run to its end (the fake sends resolve at once). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

describe('AccuracyReporter', () => {
  const cleanups = cleanupAfterEach();

  it('stops after the send in flight instead of draining a long queue first', async () => {
    const clock = new ManualClock();
    const { log, db } = scoredLog(clock, ['attic', 'cellar', 'den']);
    cleanups.push(() => db.close());
    let release: () => void = () => undefined;
    let sends = 0;
    const reporter = new AccuracyReporter({
      source: log,
      send: () => {
        sends++;
        return new Promise<void>((resolve) => (release = resolve));
      },
      clock,
      intervalMs: HOUR,
      onError: () => undefined,
      onDropped: () => undefined,
    });
    const pass = reporter.reportNow();
    await settle();
    expect(sends).toBe(1);
    const stopped = reporter.stop();
    release();
    await pass;
    expect(await stopped).toBe(2);
    expect(sends).toBe(1);
  });

  it('posts the forecast log\'s rolling error per sensor and model every interval, and retries what failed at the next pass', async () => {
    const clock = new ManualClock();
    const { log, db } = scoredLog(clock, ['attic', 'cellar']);
    cleanups.push(() => db.close());
    const sent: AccuracyReport[] = [];
    let down = true;
    const errors: unknown[] = [];
    const reporter = new AccuracyReporter({
      source: log,
      clock,
      intervalMs: HOUR,
      send: (r) => (down ? Promise.reject(new SyncError('SYNC_UNREACHABLE', 'down')) : Promise.resolve(void sent.push(r))),
      onError: (err) => errors.push(err),
      onDropped: () => expect.unreachable('nothing is dropped'),
    });
    reporter.start();
    cleanups.push(() => reporter.stop());

    clock.advance(HOUR - 1);
    await settle();
    expect(errors).toEqual([]); // the first report waits one interval
    clock.advance(1);
    await settle();
    expect(errors).toMatchObject([{ code: 'SYNC_UNREACHABLE' }]); // one failed send ends the pass
    expect(reporter.stats()).toEqual({ pending: 2, sent: 0, dropped: 0 });
    const firstAtMs = clock.now();

    down = false;
    clock.advance(HOUR);
    await settle();
    // The two held reports go first, oldest first, with their own time; then this pass's snapshot.
    expect(sent.map((r) => [r.accuracy.sensorId, r.atMs])).toEqual([
      ['attic', firstAtMs],
      ['cellar', firstAtMs],
      ['attic', firstAtMs + HOUR],
      ['cellar', firstAtMs + HOUR],
    ]);
    expect(sent[0]).toEqual({
      kind: 'accuracy',
      modelVersion: 'm1',
      outcome: 'live',
      atMs: firstAtMs,
      maePerHorizon: { '600': 0.5, '1200': 2.5 },
      accuracy: {
        sensorId: 'attic',
        windowS: 86_400,
        horizons: [
          { horizonS: 600, mae: 0.5, n: 1, coverage: 1, bandScale: { lower: expect.any(Number), upper: expect.any(Number), updates: 1 } },
          { horizonS: 1200, mae: 2.5, n: 1, coverage: 0, bandScale: { lower: expect.any(Number), upper: expect.any(Number), updates: 1 } },
        ],
      },
    });
    expect(reporter.stats()).toEqual({ pending: 0, sent: 4, dropped: 0 });
    expect(await reporter.stop()).toBe(0);
    clock.advance(HOUR);
    await settle();
    expect(sent).toHaveLength(4); // stopped: no more passes
  });

  it('drops a report the server refuses, drops the oldest past maxPending, and survives an unreadable log', async () => {
    const clock = new ManualClock();
    const { log, db } = scoredLog(clock, ['a', 'b', 'c']);
    const attempts: string[] = [];
    let answer: 'refuse b' | 'down' = 'down';
    const dropped: Array<[number, string]> = [];
    const errors: unknown[] = [];
    const reporter = new AccuracyReporter({
      source: log,
      clock,
      intervalMs: HOUR,
      maxPending: 4,
      send: (r) => {
        attempts.push(r.accuracy.sensorId);
        if (answer === 'down') return Promise.reject(new SyncError('SYNC_SERVER_ERROR', '503'));
        return r.accuracy.sensorId === 'b' ? Promise.reject(new SyncError('SYNC_REJECTED', '400')) : Promise.resolve();
      },
      onError: (err) => errors.push(err),
      onDropped: (count, why) => dropped.push([count, why]),
    });
    await reporter.reportNow();
    await reporter.reportNow(); // 6 reports for a bound of 4: the two oldest go
    expect(dropped).toEqual([[2, 'overflow']]);
    expect(reporter.stats()).toEqual({ pending: 4, sent: 0, dropped: 2 });
    answer = 'refuse b';
    attempts.length = 0;
    await reporter.reportNow(); // 4 pending + 3 new, bound 4 again: 3 more go; the rest are all tried, and b is refused
    expect(attempts).toEqual(['c', 'a', 'b', 'c']);
    expect(dropped).toEqual([[2, 'overflow'], [3, 'overflow'], [1, 'rejected']]);
    expect(reporter.stats()).toEqual({ pending: 0, sent: 3, dropped: 6 });
    db.close();
    errors.length = 0;
    await reporter.reportNow();
    expect(errors).toHaveLength(1); // the closed database is reported, nothing thrown
  });

  it('delivers to a real central server once it comes up, through the sync config', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-accuracy-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const centralConfig = testCentralConfig(port, path.join(dir, 'central'));
    let central: CentralApp = await startCentral(centralConfig);
    const token = await registerGateway(port, 'gw');
    await central.stop();

    const clock = new ManualClock();
    const { log, db } = scoredLog(clock, ['cellar']);
    cleanups.push(() => db.close());
    const config = loadConfig({ env: { HYGROCAST_SYNC_ENABLED: 'true', HYGROCAST_SYNC_URL: `http://127.0.0.1:${port}`, HYGROCAST_SYNC_TOKEN: token } });
    expect(config.sync.accuracyReportIntervalMs).toBe(HOUR);
    const lines: string[] = [];
    const logger = createLogger('warn', new Writable({ write: (chunk: Buffer, _enc, done) => done(void lines.push(chunk.toString())) }));
    const running = startAccuracyReports({ sync: config.sync, source: log, clock, logger });
    expect(running).not.toBeNull();
    cleanups.push(() => running?.stop());
    expect(startAccuracyReports({ sync: loadConfig({ env: {} }).sync, source: log, clock, logger })).toBeNull();

    clock.advance(HOUR);
    await until(() => running!.reporter.stats().pending === 1 && lines.some((l) => l.includes('SYNC_UNREACHABLE')), 10_000, 'a failed report while central is down');

    central = await startCentral(centralConfig);
    cleanups.push(() => central.stop());
    clock.advance(HOUR);
    await until(() => running!.reporter.stats().sent === 2, 10_000, 'the held report and the new one');
    const stored = await central.storage.accuracyReports({ gatewayId: 'gw', sensorId: 'cellar' }, 10);
    expect(stored.map((r) => r.atMs)).toEqual([clock.now(), clock.now() - HOUR]);
    expect(stored[0]).toMatchObject({ kind: 'accuracy', modelVersion: 'm1', accuracy: { sensorId: 'cellar', windowS: 86_400, horizons: [{ horizonS: 600, mae: 0.5, n: 1 }, { horizonS: 1200, mae: 2.5, n: 1 }] } });
  });
});
