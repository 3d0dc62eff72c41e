import type Database from 'better-sqlite3';
import { BandCalibrator } from '../../models/band-calibration.ts';
import type { BandCalibrationOptions, BandState } from '../../models/band-calibration.ts';
import type { Clock, TimerHandle } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import type { Forecast } from '../types.ts';

/**
 * Stores every forecast point in a `forecasts` table of the gateway's database and scores it
 * against the truth once its target step has ended: truth = mean of the sensor's usable
 * readings in the target step [target - step, target) (the contract's resampling rule), so
 * the error is what `npm run model -- eval` measures. The table is the gateway's own record
 * (`truth` NULL + `scored_ms` set = no usable reading in the target step); the central server
 * never reads it: it gets the rolling error per sensor, model and horizon that accuracy()
 * computes from it, posted by gateway/sync/accuracy-reporter.ts.
 *
 * Each score of a forecast made from a full window (not warming up) also moves the online
 * calibration of the band (models/band-calibration.ts): the
 * factors the next forecasts' half-bands are scaled by, per sensor, model and horizon, kept in
 * a `band_calibration` table so a restart does not forget them. The bands stored and published
 * are the calibrated ones.
 *
 * The tables are this module's own (created if missing, never migrated by the store), so the
 * readings schema and its migrations stay untouched.
 */

export interface HorizonError {
  horizon_s: number;
  /** Mean absolute error in %RH over the window, null when nothing was scored yet. */
  mae: number | null;
  /** Forecasts scored in the window. */
  n: number;
  /**
   * Fraction of those truths inside the forecast's interval [lower, upper] (rolling report only),
   * null when nothing was scored: the coverage the model's band actually gets on this site,
   * to hold against its interval_level (0.8 for the shipped model).
   */
  coverage?: number | null;
  /**
   * The factors the current model's lower and upper half-bands are scaled by at this horizon
   * (online calibration; 1 = the model's own band), and the scored forecasts that set them.
   * Absent when calibration is off or the horizon has no state yet.
   */
  band_scale?: { lower: number; upper: number; updates: number };
}

/** Published retained on `<prefix>/<sensor>/forecast_error` and on the bus as `forecastError`. */
export interface ForecastErrorReport {
  sensor: string;
  /** Rolling window over target times, s. */
  window_s: number;
  horizons: HorizonError[];
  /** ISO time of the computation (gateway clock). */
  updated_at: string;
}

/** The rolling error of one sensor under one model (ForecastLog.accuracy()). */
export interface ModelAccuracy {
  sensor: string;
  model_version: string;
  /** Rolling window over target times, s. */
  window_s: number;
  /** Scored horizons only (mae and coverage set, n >= 1), by increasing horizon. */
  horizons: HorizonError[];
}

/** Mean of the sensor's usable readings with fromMs <= t < toMs, or null when there are none. */
export type TruthFn = (sensorId: string, fromMs: number, toMs: number) => number | null;

export interface ForecastLogOptions {
  db: Database.Database;
  clock: Clock;
  /** The model step, ms: a target's truth is the mean over [target - stepMs, target). */
  stepMs: number;
  /** Rolling error window over target times, ms. Default 86 400 000 (24 h: one daily cycle). */
  errorWindowMs?: number;
  /** Forecast rows whose target is older than this are deleted, ms. Default 7 days (about 5,000 rows per sensor and day at 36 horizons). */
  retentionMs?: number;
  /** Target steps scored per score() call; bounds the work of one pass. Default 2000. */
  maxScoredPerPass?: number;
  /**
   * A target step is scored this long after it ended, ms: time for readings stamped inside it
   * to arrive (a sensor that uploads its buffer every 30 min). Its truth is fixed once scored.
   * Default 0.
   */
  scoreDelayMs?: number;
  /** Online band calibration (rate, maxScale; the step is stepMs), or null to publish the model's own band. Default: on, with band-calibration.ts defaults. */
  bandCalibration?: Omit<BandCalibrationOptions, 'stepS'> | null;
}

export const DEFAULT_ERROR_WINDOW_MS = 86_400_000;
export const DEFAULT_FORECAST_RETENTION_MS = 7 * 86_400_000;
export const DEFAULT_MAX_SCORED_PER_PASS = 2000;
/** Bound of one accuracy() answer, in (sensor, model, horizon) rows: about 110 sensor-model streams of 36 horizons. */
export const DEFAULT_MAX_ACCURACY_ROWS = 4096;

export class ForecastLog {
  private readonly windowMs: number;
  private readonly retentionMs: number;
  private readonly maxPerPass: number;
  private readonly scoreDelayMs: number;
  private readonly insert: Database.Statement;
  private readonly due: Database.Statement;
  private readonly setTruth: Database.Statement;
  private readonly errors: Database.Statement;
  private readonly streamErrors: Database.Statement;
  private readonly horizons: Database.Statement;
  private readonly prune: Database.Statement;
  private readonly byModel: Database.Statement;
  private readonly issuedAt: Database.Statement;
  private readonly latestModel: Database.Statement;
  private readonly saveBand: Database.Statement;
  private readonly staleBands: Database.Statement;
  private readonly pruneBands: Database.Statement;
  private readonly calibrator: BandCalibrator | null;

  constructor(private readonly opts: ForecastLogOptions) {
    this.windowMs = opts.errorWindowMs ?? DEFAULT_ERROR_WINDOW_MS;
    this.retentionMs = opts.retentionMs ?? DEFAULT_FORECAST_RETENTION_MS;
    this.maxPerPass = opts.maxScoredPerPass ?? DEFAULT_MAX_SCORED_PER_PASS;
    this.scoreDelayMs = opts.scoreDelayMs ?? 0;
    if (!(this.scoreDelayMs >= 0)) throw new RangeError(`scoreDelayMs must be >= 0, got ${this.scoreDelayMs}`);
    if (!(opts.stepMs > 0)) throw new RangeError(`stepMs must be positive, got ${opts.stepMs}`);
    opts.db.exec(`CREATE TABLE IF NOT EXISTS forecasts (
      sensor_id TEXT NOT NULL,
      base_ms INTEGER NOT NULL,
      horizon_s INTEGER NOT NULL,
      target_ms INTEGER NOT NULL,
      rh REAL NOT NULL,
      lower REAL NOT NULL,
      upper REAL NOT NULL,
      model_version TEXT NOT NULL,
      issued_ms INTEGER NOT NULL,
      warming_up INTEGER NOT NULL DEFAULT 0,
      truth REAL,
      scored_ms INTEGER,
      PRIMARY KEY (sensor_id, base_ms, horizon_s)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS forecasts_unscored ON forecasts (target_ms) WHERE scored_ms IS NULL;
    CREATE INDEX IF NOT EXISTS forecasts_target ON forecasts (sensor_id, target_ms);
    -- The retention delete at every scoring pass: without it a scan of the whole table (0.3 s at 20 sensors).
    CREATE INDEX IF NOT EXISTS forecasts_target_ms ON forecasts (target_ms);
    CREATE TABLE IF NOT EXISTS band_calibration (
      sensor_id TEXT NOT NULL,
      model_version TEXT NOT NULL,
      horizon_s INTEGER NOT NULL,
      level REAL NOT NULL,
      log_lower REAL NOT NULL,
      log_upper REAL NOT NULL,
      updates INTEGER NOT NULL,
      updated_ms INTEGER NOT NULL,
      PRIMARY KEY (sensor_id, model_version, horizon_s)
    ) WITHOUT ROWID;`);
    const db = opts.db;
    // Databases from before warming_up existed: their forecasts count as made from full windows.
    if (!(db.prepare('SELECT name FROM pragma_table_info(?)').all('forecasts') as { name: string }[]).some((c) => c.name === 'warming_up')) {
      db.exec('ALTER TABLE forecasts ADD COLUMN warming_up INTEGER NOT NULL DEFAULT 0');
    }
    // A re-forecast of the same base step (e.g. after a restart) replaces the earlier one.
    this.insert = db.prepare(`INSERT OR REPLACE INTO forecasts (sensor_id, base_ms, horizon_s, target_ms, rh, lower, upper, model_version, issued_ms, warming_up)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.due = db.prepare(`SELECT DISTINCT sensor_id AS sensorId, target_ms AS targetMs FROM forecasts
      WHERE scored_ms IS NULL AND target_ms <= ? ORDER BY target_ms LIMIT ?`);
    this.setTruth = db.prepare('UPDATE forecasts SET truth = ?, scored_ms = ? WHERE sensor_id = ? AND target_ms = ? AND scored_ms IS NULL');
    this.errors = db.prepare(`SELECT ${ERROR_COLUMNS} FROM forecasts
      WHERE sensor_id = ? AND truth IS NOT NULL AND target_ms > ? GROUP BY horizon_s ORDER BY horizon_s`);
    this.streamErrors = db.prepare(`SELECT sensor_id AS sensorId, model_version AS model, ${ERROR_COLUMNS} FROM forecasts
      WHERE truth IS NOT NULL AND target_ms > ? GROUP BY sensor_id, model_version, horizon_s ORDER BY sensor_id, model_version, horizon_s LIMIT ?`);
    this.horizons = db.prepare('SELECT DISTINCT horizon_s AS horizonS FROM forecasts WHERE sensor_id = ? AND base_ms = (SELECT MAX(base_ms) FROM forecasts WHERE sensor_id = ?) ORDER BY horizon_s');
    this.prune = db.prepare('DELETE FROM forecasts WHERE target_ms < ?');
    this.byModel = db.prepare(`SELECT horizon_s AS horizonS, AVG(ABS(rh - truth)) AS mae, COUNT(*) AS n FROM forecasts
      WHERE model_version = ? AND truth IS NOT NULL AND target_ms > ? GROUP BY horizon_s ORDER BY horizon_s`);
    // Warming-up forecasts are scored and reported, but their band is the warm-up floor
    // (onnx-forecaster.ts floorBand), not the model's: they would teach the calibration nothing
    // about the band it scales.
    this.issuedAt = db.prepare('SELECT horizon_s AS horizonS, rh, lower, upper, model_version AS model FROM forecasts WHERE sensor_id = ? AND target_ms = ? AND warming_up = 0');
    this.latestModel = db.prepare('SELECT model_version AS model FROM forecasts WHERE sensor_id = ? ORDER BY base_ms DESC LIMIT 1');
    this.saveBand = db.prepare(`INSERT OR REPLACE INTO band_calibration (sensor_id, model_version, horizon_s, level, log_lower, log_upper, updates, updated_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.staleBands = db.prepare('SELECT DISTINCT sensor_id AS sensorId, model_version AS model FROM band_calibration WHERE updated_ms < ?');
    this.pruneBands = db.prepare('DELETE FROM band_calibration WHERE updated_ms < ?');
    this.calibrator = opts.bandCalibration === null ? null : new BandCalibrator({ ...opts.bandCalibration, stepS: opts.stepMs / 1000 });
    this.calibrator?.load(
      (db.prepare('SELECT sensor_id AS sensorId, model_version AS model, horizon_s AS horizonS, level, log_lower AS logLower, log_upper AS logUpper, updates FROM band_calibration').all() as SavedBand[]).map(
        (r): BandState => ({ stream: streamKey(r.sensorId, r.model), horizonS: r.horizonS, level: r.level, logLower: r.logLower, logUpper: r.logUpper, updates: r.updates }),
      ),
    );
  }

  /**
   * The forecast with its band calibrated for its sensor and model (unchanged when calibration
   * is off). `level` is the model's interval_level. Call it on every forecast before it is
   * published, then record() what was published.
   */
  calibrate(f: Forecast, level: number): Forecast {
    if (!this.calibrator) return f;
    return { ...f, points: this.calibrator.calibrate(streamKey(f.sensorId, f.modelVersion), level, f.points) };
  }

  record(f: Forecast): void {
    const tx = this.opts.db.transaction(() => {
      for (const p of f.points) {
        this.insert.run(f.sensorId, f.baseTimeMs, p.horizonS, f.baseTimeMs + p.horizonS * 1000, p.rh, p.lower, p.upper, f.modelVersion, f.issuedAtMs, f.warmingUp ? 1 : 0);
      }
    });
    tx();
  }

  /**
   * Scores forecasts whose target step ended at least scoreDelayMs ago (at most maxScoredPerPass
   * target steps; the rest wait for the next call) and prunes rows past retention. Returns the
   * sensors scored.
   */
  score(truth: TruthFn): string[] {
    const now = this.opts.clock.now();
    const rows = this.due.all(now - this.scoreDelayMs, this.maxPerPass) as { sensorId: string; targetMs: number }[];
    const sensors = new Set<string>();
    const tx = this.opts.db.transaction(() => {
      for (const r of rows) {
        const t = truth(r.sensorId, r.targetMs - this.opts.stepMs, r.targetMs);
        this.setTruth.run(t, now, r.sensorId, r.targetMs);
        if (t === null) continue;
        sensors.add(r.sensorId);
        this.calibrateOn(r.sensorId, r.targetMs, t, now);
      }
      this.prune.run(now - this.retentionMs);
      this.pruneCalibration(now - this.retentionMs);
    });
    tx();
    return [...sensors];
  }

  /** Moves the band calibration by every forecast whose target step is the one just scored. */
  private calibrateOn(sensorId: string, targetMs: number, truth: number, now: number): void {
    if (!this.calibrator) return;
    for (const f of this.issuedAt.all(sensorId, targetMs) as IssuedBand[]) {
      const s = this.calibrator.observe(streamKey(sensorId, f.model), f.horizonS, f, truth);
      if (s) this.saveBand.run(sensorId, f.model, s.horizonS, s.level, s.logLower, s.logUpper, s.updates, now);
    }
  }

  /** Calibration of (sensor, model) pairs not scored within the retention goes with their forecasts. */
  private pruneCalibration(beforeMs: number): void {
    if (!this.calibrator) return;
    for (const r of this.staleBands.all(beforeMs) as { sensorId: string; model: string }[]) this.calibrator.forget(streamKey(r.sensorId, r.model));
    this.pruneBands.run(beforeMs);
  }

  /**
   * MAE per horizon of one model's scored forecasts, over every sensor, for targets after
   * sinceTargetMs (the live error a model manager compares between two models). Only horizons
   * with scored forecasts are listed.
   */
  modelError(modelVersion: string, sinceTargetMs: number): HorizonError[] {
    return (this.byModel.all(modelVersion, sinceTargetMs) as { horizonS: number; mae: number; n: number }[]).map((r) => ({ horizon_s: r.horizonS, mae: r.mae, n: r.n }));
  }

  /** Rolling MAE and interval coverage per horizon over targets in the last errorWindowMs, every horizon of the latest forecast listed. */
  rollingError(sensorId: string): ForecastErrorReport {
    const now = this.opts.clock.now();
    const scored = new Map((this.errors.all(sensorId, now - this.windowMs) as ScoredRow[]).map((r) => [r.horizonS, r]));
    const all = new Set([...(this.horizons.all(sensorId, sensorId) as { horizonS: number }[]).map((r) => r.horizonS), ...scored.keys()]);
    const model = (this.latestModel.get(sensorId) as { model: string } | undefined)?.model;
    const stream = model === undefined ? null : streamKey(sensorId, model);
    return {
      sensor: sensorId,
      window_s: this.windowMs / 1000,
      horizons: [...all]
        .sort((a, b) => a - b)
        .map((h) => this.horizonError(h, scored.get(h), stream)),
      updated_at: new Date(now).toISOString(),
    };
  }

  /**
   * The rolling error per horizon of each (sensor, model) with forecasts scored over targets in
   * the last errorWindowMs, by sensor then model: what the gateway reports to the central server
   * (gateway/sync/accuracy-reporter.ts). Only scored horizons are listed. Bounded by
   * maxRows (sensor, model, horizon) rows; a stream cut by the bound is left out whole.
   */
  accuracy(maxRows = DEFAULT_MAX_ACCURACY_ROWS): ModelAccuracy[] {
    const rows = this.streamErrors.all(this.opts.clock.now() - this.windowMs, maxRows + 1) as (ScoredRow & { sensorId: string; model: string })[];
    const out: ModelAccuracy[] = [];
    for (const r of rows.slice(0, maxRows)) {
      let last = out.at(-1);
      if (last?.sensor !== r.sensorId || last.model_version !== r.model) {
        last = { sensor: r.sensorId, model_version: r.model, window_s: this.windowMs / 1000, horizons: [] };
        out.push(last);
      }
      last.horizons.push(this.horizonError(r.horizonS, r, streamKey(r.sensorId, r.model)));
    }
    const cut = rows.length > maxRows ? rows[maxRows]! : null;
    return cut && out.at(-1)?.sensor === cut.sensorId && out.at(-1)?.model_version === cut.model ? out.slice(0, -1) : out;
  }

  private horizonError(horizonS: number, s: ScoredRow | undefined, stream: string | null): HorizonError {
    const row: HorizonError = { horizon_s: horizonS, mae: s ? round4(s.mae) : null, n: s?.n ?? 0, coverage: s ? round4(s.coverage) : null };
    const scale = stream === null ? null : this.calibrator?.scale(stream, horizonS);
    if (scale) row.band_scale = { lower: round4(scale.lower), upper: round4(scale.upper), updates: scale.updates };
    return row;
  }
}

/** MAE, count and interval coverage of one horizon's scored forecasts (one GROUP BY row). */
const ERROR_COLUMNS = `horizon_s AS horizonS, AVG(ABS(rh - truth)) AS mae, COUNT(*) AS n,
  AVG(CASE WHEN truth >= lower AND truth <= upper THEN 1.0 ELSE 0.0 END) AS coverage`;

interface ScoredRow {
  horizonS: number;
  mae: number;
  n: number;
  coverage: number;
}

interface SavedBand {
  sensorId: string;
  model: string;
  horizonS: number;
  level: number;
  logLower: number;
  logUpper: number;
  updates: number;
}

interface IssuedBand {
  horizonS: number;
  rh: number;
  lower: number;
  upper: number;
  model: string;
}

/** The calibration stream of one sensor under one model: a new model starts from its own band. */
function streamKey(sensorId: string, modelVersion: string): string {
  return `${sensorId}\u0000${modelVersion}`;
}

function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

export interface ForecastScoringOptions {
  log: ForecastLog;
  bus: GatewayBus;
  clock: Clock;
  truth: TruthFn;
  /** How often due forecasts are scored, ms. Default 60 000 (a 10-min step is scored within a minute). */
  scoreIntervalMs?: number;
  /** One error route: storage failures land here, forecasting and readings carry on. */
  onError: (err: unknown) => void;
}

export const DEFAULT_SCORE_INTERVAL_MS = 60_000;

/**
 * Lifecycle around a ForecastLog: records every `forecast` from the bus, scores on a timer,
 * and emits `forecastError` with the new rolling error of each sensor that got a new score.
 */
export class ForecastScoring {
  private timer: TimerHandle | null = null;
  private readonly onForecast = (f: Forecast): void => {
    try {
      this.opts.log.record(f);
    } catch (err) {
      this.opts.onError(err);
    }
  };

  constructor(private readonly opts: ForecastScoringOptions) {}

  start(): void {
    this.opts.bus.on('forecast', this.onForecast);
    this.timer = this.opts.clock.setInterval(() => this.scoreNow(), this.opts.scoreIntervalMs ?? DEFAULT_SCORE_INTERVAL_MS);
    this.timer.unref?.();
  }

  stop(): void {
    this.opts.bus.off('forecast', this.onForecast);
    if (this.timer) this.opts.clock.clearInterval(this.timer);
    this.timer = null;
  }

  /** One scoring pass; never throws (errors go to onError). */
  scoreNow(): void {
    try {
      for (const sensorId of this.opts.log.score(this.opts.truth)) this.opts.bus.emit('forecastError', this.opts.log.rollingError(sensorId));
    } catch (err) {
      this.opts.onError(err);
    }
  }
}
