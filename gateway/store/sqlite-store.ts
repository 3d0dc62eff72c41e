import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.ts';
import type { QualityFlag, Reading } from '../types.ts';
import { StoreError, errorCode } from './errors.ts';
import { migrate } from './migrations.ts';
import { openDatabase } from './open-db.ts';
import { PendingBuffer, copyReading, mergeRecent } from './pending-buffer.ts';
import { DEFAULT_MAX_PENDING_READINGS, type ReadingStore, type StoreStats, type StoredReading } from './store.ts';
import { QUALITY_FLAGS, checkIntOption, checkSince, resolveLimit, validateReading } from './validate.ts';

export interface SqliteStoreOptions {
  /** Folder of the database; created if missing. The file is `<dataDir>/hygrocast.db`. */
  dataDir: string;
  /** Bound of the write buffer; reaching it forces a flush. Default 10 000 readings. */
  maxPendingReadings?: number;
  /** How long a write waits for a lock held by another connection (e.g. a CLI export), in ms. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Hard ceiling on the database size in bytes; writes beyond it fail with SQLITE_FULL exactly as a
   * full disk would (readings stay buffered). Default null: only the disk limits the file.
   */
  maxDatabaseBytes?: number | null;
  /** Wall clock for migration records and quarantine names. Default systemClock. */
  clock?: Clock;
  /** Operational events worth a log line (a damaged file moved aside, a forced flush that failed). */
  logger?: (message: string) => void;
}

export const DB_FILE_NAME = 'hygrocast.db';
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

interface Row {
  id: number;
  sensor_id: string;
  boot_id: string;
  seq: number;
  uptime_ms: number;
  wall_ms: number;
  rh: number | null;
  temp_c: number | null;
  quality: string;
}

/**
 * The gateway's ReadingStore: SQLite through better-sqlite3, WAL, synchronous = NORMAL (see
 * docs/storage.md). Readings are buffered by append() and written by flush() in one
 * synchronous transaction. Ids are assigned at append time (continuing from the file's max id),
 * so a reading keeps the same id before and after it is flushed; this requires that this store is
 * the only writer of the file, which the gateway guarantees (other processes may read).
 */
export class SqliteStore implements ReadingStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly pending: PendingBuffer;
  private readonly log: (message: string) => void;
  private readonly sensorIds = new Set<string>();
  private readonly stmt: {
    insert: Database.Statement;
    exists: Database.Statement;
    recent: Database.Statement;
  };
  private readonly insertBatch: (batch: readonly StoredReading[]) => number;
  private nextId: number;
  private storedCount: number;
  private flushFailing = false;
  private closed = false;
  private counters = { flushes: 0, duplicates: 0, dropped: 0 };

  constructor(options: SqliteStoreOptions) {
    if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
      throw new StoreError('STORE_INVALID_ARGUMENT', 'dataDir must be a non-empty folder path');
    }
    const maxPending = checkIntOption('maxPendingReadings', options.maxPendingReadings ?? DEFAULT_MAX_PENDING_READINGS, 1, 10_000_000);
    const busyTimeoutMs = checkIntOption('busyTimeoutMs', options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, 0, 600_000);
    const maxDatabaseBytes = options.maxDatabaseBytes ?? null;
    if (maxDatabaseBytes !== null) checkIntOption('maxDatabaseBytes', maxDatabaseBytes, 65_536, Number.MAX_SAFE_INTEGER);
    const clock = options.clock ?? systemClock;
    this.log = options.logger ?? (() => {});
    this.pending = new PendingBuffer(maxPending);

    this.file = path.join(options.dataDir, DB_FILE_NAME);
    try {
      fs.mkdirSync(options.dataDir, { recursive: true });
    } catch (err) {
      throw new StoreError('STORE_OPEN_FAILED', `cannot create data folder ${options.dataDir}: ${(err as Error).message}`, { cause: err });
    }
    this.db = openDatabase(this.file, { busyTimeoutMs, maxDatabaseBytes, nowMs: clock.now(), log: this.log });
    try {
      migrate(this.db, clock.now());
    } catch (err) {
      this.db.close();
      throw err;
    }

    this.stmt = {
      insert: this.db.prepare(
        `INSERT OR IGNORE INTO readings (id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality)
         VALUES (@id, @sensorId, @bootId, @seq, @uptimeMs, @wallTimeMs, @rh, @tempC, @quality)`,
      ),
      exists: this.db.prepare('SELECT 1 FROM readings WHERE sensor_id = ? AND boot_id = ? AND seq = ?').pluck(),
      // The newest `limit` rows, newest first (reversed in recent()); served by readings_sensor_wall.
      recent: this.db.prepare(
        `SELECT id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality FROM readings
         WHERE sensor_id = ? AND wall_ms >= ? ORDER BY wall_ms DESC, id DESC LIMIT ?`,
      ),
    };
    this.insertBatch = this.db.transaction((batch: readonly StoredReading[]) => {
      let inserted = 0;
      for (const r of batch) inserted += this.stmt.insert.run(toParams(r)).changes;
      return inserted;
    });
    this.nextId = (this.db.prepare('SELECT coalesce(max(id), 0) FROM readings').pluck().get() as number) + 1;
    this.storedCount = this.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;
    for (const id of this.db.prepare('SELECT DISTINCT sensor_id FROM readings').pluck().all() as string[]) this.sensorIds.add(id);
  }

  append(reading: Reading): void {
    this.assertOpen();
    validateReading(reading);
    if (this.pending.has(reading) || this.stmt.exists.get(reading.sensorId, reading.bootId, reading.seq) !== undefined) {
      this.counters.duplicates++;
      return;
    }
    if (this.pending.isFull()) this.makeRoom();
    this.pending.push(copyReading(reading, this.nextId++));
    this.sensorIds.add(reading.sensorId);
  }

  /** Writes the buffer in one transaction. On failure (e.g. SQLITE_FULL) it rolls back, keeps the buffer and throws. */
  flush(): number {
    this.assertOpen();
    const batch = this.pending.all();
    if (batch.length === 0) return 0;
    let inserted: number;
    try {
      inserted = this.insertBatch(batch);
    } catch (err) {
      this.flushFailing = true;
      throw err;
    }
    this.flushFailing = false;
    this.counters.duplicates += batch.length - inserted;
    this.counters.flushes++;
    this.storedCount += inserted;
    this.pending.clear();
    return inserted;
  }

  recent(sensorId: string, sinceMs: number, limit?: number): StoredReading[] {
    this.assertOpen();
    const max = resolveLimit(limit);
    checkSince(sinceMs);
    const rows = this.stmt.recent.all(sensorId, sinceMs, max) as Row[];
    const stored = rows.reverse().map(fromRow);
    return mergeRecent(stored, this.pending.matching(sensorId, sinceMs), max).map((r) => copyReading(r, r.id));
  }

  sensors(): string[] {
    this.assertOpen();
    return [...this.sensorIds].sort();
  }

  stats(): StoreStats {
    this.assertOpen();
    const pageCount = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return { readings: this.storedCount, bytes: pageCount * pageSize + walBytes(this.file), pending: this.pending.size, ...this.counters };
  }

  /** The journal mode SQLite reports ('wal' once open); for health checks and tests. */
  journalMode(): string {
    this.assertOpen();
    return this.db.pragma('journal_mode', { simple: true }) as string;
  }

  /** Applied schema migrations, oldest first. */
  migrations(): Array<{ version: number; name: string; appliedAtMs: number }> {
    this.assertOpen();
    return this.db.prepare('SELECT version, name, applied_at_ms AS appliedAtMs FROM schema_migrations ORDER BY version').all() as Array<{
      version: number;
      name: string;
      appliedAtMs: number;
    }>;
  }

  /**
   * Flushes, then closes the file (a clean close checkpoints the WAL). If the final flush fails,
   * the file is still closed and a StoreError STORE_CLOSE_FLUSH_FAILED says how many readings were lost.
   */
  close(): void {
    if (this.closed) return;
    let failure: unknown = null;
    const buffered = this.pending.size;
    try {
      this.flush();
    } catch (err) {
      failure = err;
    } finally {
      this.closed = true;
      this.pending.clear();
      this.db.close();
    }
    if (failure !== null) {
      throw new StoreError(
        'STORE_CLOSE_FLUSH_FAILED',
        `${buffered} buffered readings could not be written before close (${errorCode(failure) ?? 'error'}: ${(failure as Error).message})`,
        { cause: failure },
      );
    }
  }

  /**
   * The buffer is full: write it now. While flushes are failing, do not retry on every append
   * (each retry would re-run a 10 000-row transaction against a full disk); drop the oldest
   * buffered reading instead and let the flush timer retry.
   */
  private makeRoom(): void {
    if (!this.flushFailing) {
      try {
        this.flush();
        return;
      } catch (err) {
        this.log(`write buffer full (${this.pending.size} readings) and flush failed (${errorCode(err) ?? 'error'}): dropping oldest readings until a flush succeeds`);
      }
    }
    this.pending.dropOldest();
    this.counters.dropped++;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', `the store ${this.file} is closed`);
  }
}

function toParams(r: StoredReading): Record<string, unknown> {
  return {
    id: r.id,
    sensorId: r.sensorId,
    bootId: r.bootId,
    seq: r.seq,
    uptimeMs: r.uptimeMs,
    wallTimeMs: r.wallTimeMs,
    rh: r.rh,
    tempC: r.tempC,
    quality: r.quality.join(','),
  };
}

function fromRow(row: Row): StoredReading {
  return {
    id: row.id,
    sensorId: row.sensor_id,
    bootId: row.boot_id,
    seq: row.seq,
    uptimeMs: row.uptime_ms,
    wallTimeMs: row.wall_ms,
    rh: row.rh,
    tempC: row.temp_c,
    quality: parseQuality(row.quality),
  };
}

/** Flags written by a newer version that this one does not know are left out rather than guessed. */
function parseQuality(text: string): QualityFlag[] {
  if (text === '') return [];
  return text.split(',').filter((f): f is QualityFlag => (QUALITY_FLAGS as readonly string[]).includes(f));
}

function walBytes(file: string): number {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}
