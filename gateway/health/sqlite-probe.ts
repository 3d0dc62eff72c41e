import path from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../clock.ts';
import { HealthError, checkIntOption } from './errors.ts';

/** File the probe writes, next to the reading database (one row, a few KiB). */
export const PROBE_FILE_NAME = 'health-probe.db';
/** How long the probe waits for its own file's lock, in ms. Short: the probe runs inside a health check. */
export const DEFAULT_PROBE_BUSY_TIMEOUT_MS = 1000;

export interface SqliteWriteProbeOptions {
  /** The folder of the reading database (config dataDir). */
  dataDir: string;
  clock: Clock;
  busyTimeoutMs?: number;
}

/**
 * A real SQLite write with fsync on the filesystem of the reading database: one row of a
 * separate probe file is rewritten in a rollback-journal transaction with synchronous=FULL,
 * so a full disk, a read-only remount or an I/O error fails it the way it fails the store.
 * It uses its own file so it never takes the reading database's write lock or touches its
 * schema. The connection opens on first use and reopens after a failure (the disk may come back).
 */
export class SqliteWriteProbe {
  readonly file: string;
  private readonly clock: Clock;
  private readonly busyTimeoutMs: number;
  private db: Database.Database | null = null;
  private write: Database.Statement<[number]> | null = null;

  constructor(options: SqliteWriteProbeOptions) {
    if (typeof options.dataDir !== 'string' || options.dataDir === '') {
      throw new HealthError('HEALTH_INVALID_ARGUMENT', 'dataDir of the write probe must be a non-empty path');
    }
    this.file = path.join(options.dataDir, PROBE_FILE_NAME);
    this.clock = options.clock;
    this.busyTimeoutMs = checkIntOption('busyTimeoutMs', options.busyTimeoutMs ?? DEFAULT_PROBE_BUSY_TIMEOUT_MS, 0, 60_000);
  }

  /** Writes the probe row; throws a HealthError (HEALTH_PROBE_FAILED, errno = SQLite's code) on failure. */
  run(): void {
    try {
      (this.write ?? this.open()).run(this.clock.now());
    } catch (err) {
      this.close();
      const code = (err as { code?: unknown }).code;
      throw new HealthError('HEALTH_PROBE_FAILED', `cannot write ${this.file}: ${(err as Error).message}`, {
        cause: err,
        errno: typeof code === 'string' ? code : undefined,
      });
    }
  }

  close(): void {
    try {
      this.db?.close();
    } catch {
      // Closing a connection whose file vanished can fail; the handle is dropped either way.
    }
    this.db = null;
    this.write = null;
  }

  private open(): Database.Statement<[number]> {
    const db = new Database(this.file, { timeout: this.busyTimeoutMs });
    this.db = db;
    // DELETE journal + FULL sync: each probe creates a journal file and fsyncs, as a real write must.
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), written_at_ms INTEGER NOT NULL)');
    this.write = db.prepare<[number]>('INSERT INTO probe (id, written_at_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET written_at_ms = excluded.written_at_ms');
    return this.write;
  }
}
