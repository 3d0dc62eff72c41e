import path from 'node:path';
import Database from 'better-sqlite3';
import type { MinuteHistory } from './dashboard/messages.ts';
import { DB_FILE_NAME, usableReadingSql } from './store/sqlite-store.ts';

/**
 * How long a query waits for the store's writer, ms. Short: better-sqlite3 blocks the event loop
 * while it waits, and a snapshot without history is better than a stalled gateway.
 */
const BUSY_TIMEOUT_MS = 250;

/** Flags that make a reading unfit for a mean; the same as the page's trend and history (public/lib/trend.js). */
const UNUSABLE_FLAGS = ['out_of_range', 'sensor_error', 'spike'];

/**
 * Per-minute means of a sensor's humidity straight from the store's SQLite file, for the
 * dashboard's 24 h snapshot: one aggregate query over the (sensor_id, wall_ms) index instead of
 * materialising 86 400 readings per sensor in JavaScript (bench/dashboard-snapshot.bench.ts).
 *
 * A second connection to the same file (WAL lets it read beside the store's writer; the forecast
 * log does the same) that only reads. It sees flushed readings only, which is all the history
 * needs: it ends where the snapshot's raw hour begins. Thinned rows (docs/storage.md) count with
 * their `samples`, so a thinned minute has the same mean as the readings it replaced.
 */
export class SqliteHistory {
  private readonly db: Database.Database;
  private readonly query: Database.Statement;

  /** Opens the store's database in `dataDir`; throws if the store has not created it yet. */
  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, DB_FILE_NAME), { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    const usable = usableReadingSql(UNUSABLE_FLAGS);
    this.query = this.db.prepare(
      // better-sqlite3 binds JS numbers as REAL: the CAST keeps wall_ms / bucket an integer division.
      `SELECT (wall_ms / CAST(@bucket AS INTEGER)) * CAST(@bucket AS INTEGER) AS t, sum(rh * samples) / sum(samples) AS rh, sum(samples) AS n
         FROM readings
        WHERE sensor_id = @sensor AND wall_ms >= @since AND wall_ms < @until AND ${usable}
        GROUP BY wall_ms / CAST(@bucket AS INTEGER)
        ORDER BY t`,
    );
  }

  /** Means of the usable readings with sinceMs <= wallTimeMs < untilMs, one per `bucketMs` that has any. */
  minuteMeans(sensorId: string, sinceMs: number, untilMs: number, bucketMs: number): MinuteHistory {
    const rows = this.query.all({ sensor: sensorId, since: Math.floor(sinceMs), until: Math.ceil(untilMs), bucket: Math.max(1, Math.floor(bucketMs)) }) as { t: number; rh: number; n: number }[];
    return { bucketMs, tMs: rows.map((r) => r.t), rh: rows.map((r) => Math.round(r.rh * 100) / 100), n: rows.map((r) => r.n) };
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Opens a SqliteHistory, or returns null (after telling `onError`) when the file cannot be
 * opened: the dashboard then averages readings itself, slower but complete.
 */
export function openSqliteHistory(dataDir: string, onError: (err: unknown) => void): SqliteHistory | null {
  try {
    return new SqliteHistory(dataDir);
  } catch (err) {
    onError(err);
    return null;
  }
}
