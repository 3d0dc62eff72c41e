import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import type { Forecast } from '../types.ts';
import { ForecastLog, ForecastScoring } from './forecast-log.ts';
import type { ForecastErrorReport, TruthFn } from './forecast-log.ts';

const STEP = 600_000;
const BASE = Date.UTC(2026, 0, 1, 12, 0);

function forecast(baseMs: number, rh: [number, number], sensorId = 'cellar', modelVersion = 'm1'): Forecast {
  return {
    sensorId,
    issuedAtMs: baseMs,
    baseTimeMs: baseMs,
    modelVersion,
    warmingUp: false,
    points: [
      { horizonS: 600, rh: rh[0], lower: rh[0] - 1, upper: rh[0] + 1 },
      { horizonS: 1200, rh: rh[1], lower: rh[1] - 1, upper: rh[1] + 1 },
    ],
  };
}

describe('ForecastLog', () => {
  let db: Database.Database;
  let clock: ManualClock;
  let log: ForecastLog;
  const asked: [string, number, number][] = [];
  /** Truth 50 %RH everywhere except no readings in steps ending at BASE + 3 steps. */
  const truth: TruthFn = (s, from, to) => {
    asked.push([s, from, to]);
    return to === BASE + 3 * STEP ? null : 50;
  };

  beforeEach(() => {
    db = new Database(':memory:');
    clock = new ManualClock(BASE);
    log = new ForecastLog({ db, clock, stepMs: STEP, errorWindowMs: 3_600_000 });
    asked.length = 0;
  });
  afterEach(() => db.close());

  it('prunes past retention through an index on target_ms, not a scan of the table', () => {
    const plan = (db.prepare('EXPLAIN QUERY PLAN DELETE FROM forecasts WHERE target_ms < ?').all(0) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
    expect(plan).toMatch(/USING (COVERING )?INDEX forecasts_target_ms/);
  });

  it('scores each target step once its step has ended, against the mean over that step', () => {
    log.record(forecast(BASE, [51, 53]));
    expect(log.score(truth)).toEqual([]); // nothing due yet
    clock.advance(STEP);
    expect(log.score(truth)).toEqual(['cellar']);
    expect(asked).toEqual([['cellar', BASE, BASE + STEP]]);
    expect(log.rollingError('cellar').horizons).toEqual([
      { horizon_s: 600, mae: 1, n: 1, coverage: 1 },
      { horizon_s: 1200, mae: null, n: 0, coverage: null },
    ]);
    log.record(forecast(BASE + STEP, [49, 47]));
    clock.advance(STEP);
    log.score(truth);
    // The step ending at BASE + 2 steps is the 1200 s target of the first and the 600 s of the second.
    // Bands are forecast ± 1: 50 lies on the edge of [50, 52] and [48, 50] (inside), not in [52, 54].
    expect(log.rollingError('cellar').horizons).toEqual([
      { horizon_s: 600, mae: 1, n: 2, coverage: 1 },
      { horizon_s: 1200, mae: 3, n: 1, coverage: 0 },
    ]);
    expect(log.score(truth)).toEqual([]); // scored rows are not scored again
  });

  it('keeps the scored rows: missing truth is marked scored with NULL', () => {
    log.record(forecast(BASE + STEP, [51, 52]));
    clock.advance(3 * STEP);
    log.score(truth);
    const rows = db.prepare('SELECT horizon_s, rh, truth, scored_ms FROM forecasts ORDER BY horizon_s').all();
    expect(rows).toEqual([
      { horizon_s: 600, rh: 51, truth: 50, scored_ms: BASE + 3 * STEP },
      { horizon_s: 1200, rh: 52, truth: null, scored_ms: BASE + 3 * STEP },
    ]);
  });

  it('drops old targets from the rolling window and from storage after retention', () => {
    const short = new ForecastLog({ db, clock, stepMs: STEP, errorWindowMs: 2 * STEP, retentionMs: 4 * STEP });
    short.record(forecast(BASE, [52, 52]));
    clock.advance(2 * STEP);
    short.score(truth);
    expect(short.rollingError('cellar').horizons.map((h) => h.n)).toEqual([1, 1]);
    clock.advance(STEP);
    expect(short.rollingError('cellar').horizons.map((h) => h.n)).toEqual([0, 1]);
    clock.advance(4 * STEP);
    short.score(truth);
    expect(db.prepare('SELECT COUNT(*) AS n FROM forecasts').get()).toEqual({ n: 0 });
  });

  it('calibrates the published band from the truths it scores, per sensor and model, and keeps it across a restart', () => {
    // Truth 50; the model says 48.5 +- 1 at both horizons: every truth lands above its upper
    // bound, so the upper half widens until the truth is inside it and the lower half narrows.
    const steady: TruthFn = () => 50;
    const cycles = 400;
    for (let i = 0; i < cycles; i++) {
      const published = log.calibrate(forecast(clock.now(), [48.5, 48.5]), 0.8);
      log.record(published);
      clock.advance(STEP);
      log.score(steady);
    }
    const last = log.calibrate(forecast(clock.now(), [48.5, 48.5]), 0.8);
    const [p600, p1200] = last.points;
    expect(p600!.upper).toBeGreaterThan(49.9); // the truth is (about) reached by the band
    expect(p600!.lower).toBeGreaterThan(47.5);
    expect(p1200!.upper).toBeGreaterThan(49.9);
    const report = log.rollingError('cellar').horizons;
    expect(report[0]!.band_scale!.upper).toBeGreaterThan(1);
    expect(report[0]!.band_scale!.lower).toBeLessThan(1);
    expect(report[0]!.band_scale!.updates).toBe(cycles);
    expect(report[1]!.band_scale!.updates).toBe(cycles - 1); // a 1200 s band is scored a step later
    // Stored bands are the published ones, so the coverage reported is that of the calibrated band.
    expect(report[0]!.coverage).toBeGreaterThan(0.5);
    // A new process on the same file publishes the same band; a new model and another sensor start from their own band.
    const again = new ForecastLog({ db, clock, stepMs: STEP });
    expect(again.calibrate(forecast(clock.now(), [48.5, 48.5]), 0.8).points).toEqual(last.points);
    expect(again.calibrate(forecast(clock.now(), [48.5, 48.5], 'cellar', 'm2'), 0.8).points).toEqual(forecast(clock.now(), [48.5, 48.5]).points);
    expect(again.calibrate(forecast(clock.now(), [48.5, 48.5], 'attic'), 0.8).points).toEqual(forecast(clock.now(), [48.5, 48.5]).points);
  });

  it('scores and reports warming-up forecasts, but calibrates only on forecasts from full windows', () => {
    // Every truth (50) is above the band of 48.5 +- 1: a full-window forecast would widen the upper half.
    const warming = (): Forecast => ({ ...forecast(clock.now(), [48.5, 48.5]), warmingUp: true });
    for (let i = 0; i < 5; i++) {
      log.record(log.calibrate(warming(), 0.8));
      clock.advance(STEP);
      log.score(() => 50);
    }
    const report = log.rollingError('cellar').horizons;
    expect(report.map((h) => [h.horizon_s, h.n, h.coverage, h.band_scale?.updates])).toEqual([
      [600, 5, 0, 0],
      [1200, 4, 0, 0],
    ]);
    expect(log.calibrate(forecast(clock.now(), [48.5, 48.5]), 0.8).points).toEqual(forecast(clock.now(), [48.5, 48.5]).points);
    // The first full-window forecast scored moves it.
    log.record(log.calibrate(forecast(clock.now(), [48.5, 48.5]), 0.8));
    clock.advance(STEP);
    log.score(() => 50);
    expect(log.rollingError('cellar').horizons[0]!.band_scale).toMatchObject({ updates: 1 });
    expect(log.rollingError('cellar').horizons[0]!.band_scale!.upper).toBeGreaterThan(1);
  });

  it('adds warming_up to a forecasts table from before it existed, its rows counted as full windows', () => {
    const old = new Database(':memory:');
    old.exec(`CREATE TABLE forecasts (sensor_id TEXT NOT NULL, base_ms INTEGER NOT NULL, horizon_s INTEGER NOT NULL, target_ms INTEGER NOT NULL,
      rh REAL NOT NULL, lower REAL NOT NULL, upper REAL NOT NULL, model_version TEXT NOT NULL, issued_ms INTEGER NOT NULL, truth REAL, scored_ms INTEGER,
      PRIMARY KEY (sensor_id, base_ms, horizon_s)) WITHOUT ROWID`);
    old.prepare('INSERT INTO forecasts VALUES (?, ?, 600, ?, 48.5, 47.5, 49.5, ?, ?, NULL, NULL)').run('cellar', BASE, BASE + STEP, 'm1', BASE);
    const migrated = new ForecastLog({ db: old, clock, stepMs: STEP });
    migrated.calibrate(forecast(BASE, [48.5, 48.5]), 0.8); // the band this forecast was published with starts the state
    clock.advance(STEP);
    migrated.score(() => 50);
    expect(migrated.rollingError('cellar').horizons[0]).toMatchObject({ horizon_s: 600, n: 1, band_scale: { updates: 1 } });
    migrated.record({ ...forecast(clock.now(), [50, 50]), warmingUp: true });
    expect(old.prepare('SELECT base_ms AS b, warming_up AS w FROM forecasts WHERE horizon_s = 600 ORDER BY base_ms').all()).toEqual([
      { b: BASE, w: 0 },
      { b: BASE + STEP, w: 1 },
    ]);
    old.close();
  });

  it('publishes the model band unchanged with calibration off, and drops calibration unused past retention', () => {
    const off = new ForecastLog({ db, clock, stepMs: STEP, bandCalibration: null });
    const f = forecast(BASE, [49, 49]);
    expect(off.calibrate(f, 0.8)).toBe(f);
    off.record(f);
    clock.advance(2 * STEP);
    off.score(truth);
    expect(off.rollingError('cellar').horizons[0]).not.toHaveProperty('band_scale');
    expect(db.prepare('SELECT COUNT(*) AS n FROM band_calibration').get()).toEqual({ n: 0 });

    const short = new ForecastLog({ db, clock, stepMs: STEP, retentionMs: 4 * STEP });
    short.record(short.calibrate(forecast(clock.now(), [49, 49]), 0.8));
    clock.advance(2 * STEP);
    short.score(() => 50);
    expect(db.prepare('SELECT COUNT(*) AS n FROM band_calibration').get()).toEqual({ n: 2 });
    clock.advance(5 * STEP);
    short.score(() => 50);
    expect(db.prepare('SELECT COUNT(*) AS n FROM band_calibration').get()).toEqual({ n: 0 });
    expect(short.calibrate(forecast(clock.now(), [49, 49]), 0.8).points).toEqual(forecast(clock.now(), [49, 49]).points);
  });

  it('accuracy() gives the rolling error per sensor and model, scored horizons only, bounded by rows', () => {
    log.record(log.calibrate(forecast(BASE, [51, 53]), 0.8));
    log.record(forecast(BASE, [50.5, 50.5], 'attic', 'm1'));
    clock.advance(STEP);
    log.score(truth);
    log.record(forecast(BASE + STEP, [49, 47], 'cellar', 'm2'));
    clock.advance(STEP);
    log.score(truth);
    const all = log.accuracy();
    expect(all.map((a) => [a.sensor, a.model_version])).toEqual([
      ['attic', 'm1'],
      ['cellar', 'm1'],
      ['cellar', 'm2'],
    ]);
    expect(all[0]).toEqual({ sensor: 'attic', model_version: 'm1', window_s: 3600, horizons: [{ horizon_s: 600, mae: 0.5, n: 1, coverage: 1 }, { horizon_s: 1200, mae: 0.5, n: 1, coverage: 1 }] });
    // cellar under m1: its one forecast, 600 s inside its band, 1200 s outside [52, 54]; the m2 forecast is a stream of its own.
    expect(all[1]!.horizons).toMatchObject([
      { horizon_s: 600, mae: 1, n: 1, coverage: 1, band_scale: { updates: 1 } },
      { horizon_s: 1200, mae: 3, n: 1, coverage: 0, band_scale: { updates: 1 } },
    ]);
    expect(all[2]!.horizons).toEqual([{ horizon_s: 600, mae: 1, n: 1, coverage: 1 }]);
    // Three rows fit attic (2 rows) and part of cellar/m1: the cut stream is left out whole.
    expect(log.accuracy(3).map((a) => a.sensor)).toEqual(['attic']);
    expect(log.accuracy(4).map((a) => `${a.sensor}/${a.model_version}`)).toEqual(['attic/m1', 'cellar/m1']);
    clock.advance(2 * 3_600_000);
    expect(log.accuracy()).toEqual([]); // out of the window
  });

  it('ForecastScoring records bus forecasts and emits forecastError on its timer until stopped', () => {
    const bus = new GatewayBus();
    const reports: ForecastErrorReport[] = [];
    bus.on('forecastError', (r) => reports.push(r));
    const errors: unknown[] = [];
    const scoring = new ForecastScoring({ log, bus, clock, truth, scoreIntervalMs: 60_000, onError: (e) => errors.push(e) });
    scoring.start();
    bus.emit('forecast', forecast(BASE, [50.5, 50]));
    clock.advance(STEP);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ sensor: 'cellar', window_s: 3600, horizons: [{ horizon_s: 600, mae: 0.5, n: 1 }, { horizon_s: 1200, mae: null, n: 0 }] });
    scoring.stop();
    bus.emit('forecast', forecast(BASE + STEP, [55, 55]));
    clock.advance(3 * STEP);
    expect(reports).toHaveLength(1);
    db.close();
    scoring.scoreNow(); // a closed database is reported, not thrown
    expect(errors).toHaveLength(1);
    db = new Database(':memory:');
  });
});
