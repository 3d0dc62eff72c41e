import path from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import { DB_FILE_NAME } from '../store/sqlite-store.ts';
import type { ReadingStore } from '../store/store.ts';
import { ForecastLog, ForecastScoring } from './forecast-log.ts';
import type { TruthFn } from './forecast-log.ts';
import { UNUSABLE_FLAGS } from './scheduler.ts';

/**
 * How long this module's connection waits for the store's writer, ms. Short: better-sqlite3
 * blocks the event loop while it waits, and a missed scoring pass is simply retried.
 */
const BUSY_TIMEOUT_MS = 250;

export interface StartScoringOptions {
  /** The gateway's data folder; the `forecasts` table lives in its hygrocast.db. */
  dataDir: string;
  store: ReadingStore;
  bus: GatewayBus;
  clock: Clock;
  stepMs: number;
  /**
   * Config `forecast.staleAfterSteps`: readings up to that many steps old still count as current,
   * so a target step is scored (staleAfterSteps - 1) steps after it ended, once late readings are in.
   */
  staleAfterSteps: number;
  /** Config `forecast.bandCalibration`: online calibration of the published band. */
  bandCalibration: { enabled: boolean; rate: number; maxScale: number };
  onError: (err: unknown) => void;
}

/**
 * Opens a second connection to the store's database file (WAL allows a reader and a writer
 * side by side) for the forecasts table, and starts recording and scoring. The truth of a
 * target step is the mean of the sensor's usable readings in it, with the same flag rule as
 * the forecaster's input (scheduler.ts UNUSABLE_FLAGS), aggregated by the store: however long
 * ago the step was (late scoring after a restart) and however many readings it holds.
 */
export function startForecastScoring(o: StartScoringOptions): { stop(): void; log: ForecastLog } {
  const db = new Database(path.join(o.dataDir, DB_FILE_NAME), { timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const truth: TruthFn = (sensorId, fromMs, toMs) => o.store.stepAggregates(sensorId, { fromMs, toMs, stepMs: toMs - fromMs, unusableFlags: UNUSABLE_FLAGS })[0]?.meanRh ?? null;
  const { enabled, rate, maxScale } = o.bandCalibration;
  const log = new ForecastLog({ db, clock: o.clock, stepMs: o.stepMs, scoreDelayMs: Math.max(0, o.staleAfterSteps - 1) * o.stepMs, bandCalibration: enabled ? { rate, maxScale } : null });
  const scoring = new ForecastScoring({ log, bus: o.bus, clock: o.clock, truth, onError: o.onError });
  scoring.start();
  return {
    log,
    stop: () => {
      scoring.stop();
      db.close();
    },
  };
}
