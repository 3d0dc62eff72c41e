import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.ts';
import type { QualityFlag, Reading } from '../types.ts';
import { StoreError, errorCode } from './errors.ts';
import { migrate } from './migrations.ts';
import { Evictor, type EvictionCounts } from './eviction.ts';
import { NO_PAGE_LIMIT, openDatabase } from './open-db.ts';
import { StoredTimeCorrector, correctedWall, type TimeAnchor } from './time-correction.ts';
import { PendingBuffer, copyReading, mergeRecent } from './pending-buffer.ts';
import { StepAccumulator, checkStepQuery } from './step-aggregates.ts';
import { DEFAULT_MAX_PENDING_READINGS, type ReadingStore, type StepAggregate, type StepQuery, type StoreStats, type StoredReading } from './store.ts';
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
  /**
   * Byte budget of the database (used pages, WAL excluded). Reaching it evicts in a fixed order:
   * thin synced old data, drop the oldest synced, then the oldest unsynced (docs/storage.md).
   * Default DEFAULT_RETENTION_BYTES (512 MiB); null for no budget.
   */
  retentionBytes?: number | null;
  /**
   * True when an uplink delivers readings to a central server and marks them with markSynced().
   * Default false: nothing waits for sync, so every reading is stored as synced.
   */
  syncEnabled?: boolean;
  /**
   * Whether the wall clock can be trusted right now (ClockTrust.isTrusted). A reading appended
   * while it is false is stored with time_trusted = 0 and its wall time is rewritten from device
   * uptime once a trusted reading of the same (sensor, boot) arrives. Default: always trusted.
   */
  timeTrusted?: () => boolean;
  /** Wall clock for migration records and quarantine names. Default systemClock. */
  clock?: Clock;
  /** Operational events worth a log line (a damaged file moved aside, a forced flush that failed). */
  logger?: (message: string) => void;
}

export const DB_FILE_NAME = 'hygrocast.db';
/** After an eviction, free pages go back to the disk only when the file exceeds the budget by this factor. */
const EVICTION_FILE_SLACK = 1.1;
/**
 * How long after the clock becomes trusted readings stamped before it are held back from sync
 * for their boot's correction, ms (SqliteStore.unsyncedAfter).
 */
export const UNTRUSTED_SYNC_GRACE_MS = 10 * 60_000;
/**
 * Longest time readings stamped with an untrusted clock hold sync back while the clock stays
 * untrusted, ms: then they (and later ones) are sent as they are until the clock is trusted.
 */
export const MAX_UNTRUSTED_SYNC_HOLD_MS = 60 * 60_000;
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/**
 * Default byte budget: 512 MiB, small next to an 8 GB SD card. At about 90 bytes per raw reading
 * (row and two indexes) that is about two weeks of 4 sensors at 1 reading/s at full resolution,
 * and years once thinned to 1-minute and 10-minute means.
 */
export const DEFAULT_RETENTION_BYTES = 512 * 1024 * 1024;
/** Smallest byte budget accepted (1 MiB): below it the schema and one flush batch do not fit. */
export const MIN_RETENTION_BYTES = 1024 * 1024;

/**
 * SQL condition: the row has RH and none of `flags` (names from QUALITY_FLAGS, so inlining them is
 * safe). The store keeps flags comma-joined, so `,flag,` cannot match a longer name; most rows
 * carry no flag, and `quality = ''` spares them the string tests.
 */
export function usableReadingSql(flags: readonly string[]): string {
  const noFlag = flags.map((f) => `instr(',' || quality || ',', ',${f},') = 0`);
  return noFlag.length === 0 ? 'rh IS NOT NULL' : `rh IS NOT NULL AND (quality = '' OR (${noFlag.join(' AND ')}))`;
}

/** One step's partial aggregate from SQL (stepAggregates()). */
interface StepRow {
  k: number;
  sum: number;
  usable: number;
  newest_usable: number | null;
  newest: number;
}

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
    markSynced: Database.Statement;
    unsyncedAfter: Database.Statement;
    firstUntrustedUnsynced: Database.Statement;
  };
  private readonly insertBatch: (batch: readonly StoredReading[]) => number;
  /** stepAggregates() statements by unusable-flag set; at most 2^QUALITY_FLAGS.length, in practice one. */
  private readonly stepStatements = new Map<string, Database.Statement>();
  private nextId: number;
  private storedCount: number;
  private flushFailing = false;
  private writeError: string | null = null;
  private closed = false;
  private counters = { flushes: 0, duplicates: 0, dropped: 0 };
  private readonly evictions: EvictionCounts = { thinned: 0, dropped_synced: 0, dropped_unsynced: 0 };
  private readonly evictor: Evictor | null;
  private readonly corrector: StoredTimeCorrector;
  /** Ids of buffered readings taken while the clock was not trusted. */
  private readonly untrustedPending = new Set<number>();
  private readonly syncEnabled: boolean;
  private readonly timeTrusted: () => boolean;
  private readonly monotonic: () => number;
  /** Monotonic ms since which timeTrusted() has been seen true by unsyncedAfter(); null while false. */
  private trustedSinceMono: number | null = null;
  /** Monotonic ms since which untrusted readings have held sync back while the clock stays untrusted. */
  private heldSinceMono: number | null = null;

  constructor(options: SqliteStoreOptions) {
    if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
      throw new StoreError('STORE_INVALID_ARGUMENT', 'dataDir must be a non-empty folder path');
    }
    const maxPending = checkIntOption('maxPendingReadings', options.maxPendingReadings ?? DEFAULT_MAX_PENDING_READINGS, 1, 10_000_000);
    const busyTimeoutMs = checkIntOption('busyTimeoutMs', options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, 0, 600_000);
    const maxDatabaseBytes = options.maxDatabaseBytes ?? null;
    if (maxDatabaseBytes !== null) checkIntOption('maxDatabaseBytes', maxDatabaseBytes, 65_536, Number.MAX_SAFE_INTEGER);
    const retentionBytes = options.retentionBytes === undefined ? DEFAULT_RETENTION_BYTES : options.retentionBytes;
    if (retentionBytes !== null) checkIntOption('retentionBytes', retentionBytes, MIN_RETENTION_BYTES, Number.MAX_SAFE_INTEGER);
    if (options.syncEnabled !== undefined && typeof options.syncEnabled !== 'boolean') {
      throw new StoreError('STORE_INVALID_ARGUMENT', `syncEnabled must be true or false (got ${String(options.syncEnabled)})`);
    }
    this.syncEnabled = options.syncEnabled ?? false;
    this.timeTrusted = options.timeTrusted ?? (() => true);
    const clock = options.clock ?? systemClock;
    this.monotonic = () => clock.monotonic();
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
        `INSERT OR IGNORE INTO readings (id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality, synced, time_trusted)
         VALUES (@id, @sensorId, @bootId, @seq, @uptimeMs, @wallTimeMs, @rh, @tempC, @quality, @synced, @timeTrusted)`,
      ),
      exists: this.db.prepare('SELECT 1 FROM readings WHERE sensor_id = ? AND boot_id = ? AND seq = ?').pluck(),
      // The newest `limit` rows, newest first (reversed in recent()); served by readings_sensor_wall.
      recent: this.db.prepare(
        `SELECT id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality FROM readings
         WHERE sensor_id = ? AND wall_ms >= ? ORDER BY wall_ms DESC, id DESC LIMIT ?`,
      ),
      markSynced: this.db.prepare('UPDATE readings SET synced = 1 WHERE id <= ? AND synced = 0'),
      unsyncedAfter: this.db.prepare('SELECT id, sensor_id, boot_id, seq, uptime_ms, wall_ms, rh, temp_c, quality FROM readings WHERE id > ? AND id < ? AND synced = 0 ORDER BY id LIMIT ?'),
      // Through the (small) untrusted rows' index: the planner would otherwise walk every unsynced
      // row through readings_unsynced, a scan of the whole backlog at every batch.
      firstUntrustedUnsynced: this.db.prepare('SELECT min(id) FROM readings INDEXED BY readings_untrusted WHERE time_trusted = 0 AND synced = 0').pluck(),
    };
    const synced = this.syncEnabled ? 0 : 1;
    this.insertBatch = this.db.transaction((batch: readonly StoredReading[]) => {
      let inserted = 0;
      for (const r of batch) inserted += this.stmt.insert.run(toParams(r, synced, this.untrustedPending.has(r.id) ? 0 : 1)).changes;
      this.corrector.applyQueued();
      return inserted;
    });
    this.corrector = new StoredTimeCorrector(this.db);
    this.evictor = retentionBytes === null ? null : new Evictor(this.db, retentionBytes);
    this.releaseFreePagesOverBudget();
    this.nextId = (this.db.prepare('SELECT coalesce(max(id), 0) FROM readings').pluck().get() as number) + 1;
    this.storedCount = this.db.prepare('SELECT count(*) FROM readings').pluck().get() as number;
    for (const id of this.db.prepare('SELECT DISTINCT sensor_id FROM readings').pluck().all() as string[]) this.sensorIds.add(id);
  }

  append(reading: Reading): boolean {
    this.assertOpen();
    validateReading(reading);
    if (this.pending.has(reading) || this.stmt.exists.get(reading.sensorId, reading.bootId, reading.seq) !== undefined) {
      this.counters.duplicates++;
      return false;
    }
    if (this.pending.isFull()) this.makeRoom();
    const stored = copyReading(reading, this.nextId++);
    if (this.timeTrusted()) {
      this.anchorBoot(stored);
    } else {
      this.untrustedPending.add(stored.id);
      this.corrector.noteUntrusted(stored);
    }
    this.pending.push(stored);
    this.sensorIds.add(reading.sensorId);
    return true;
  }

  /**
   * Rewrites the wall time of every reading of (sensorId, bootId) taken while the clock was not
   * trusted, as anchor.wallTimeMs + (uptimeMs - anchor.uptimeMs). Buffered readings change at once,
   * stored ones at the next flush (in its transaction). append() does this by itself with the first
   * trusted reading of a boot as the anchor; call it directly with an anchor known otherwise.
   */
  correctBootTime(sensorId: string, bootId: string, anchor: TimeAnchor): void {
    this.assertOpen();
    this.corrector.queue(sensorId, bootId, anchor);
    for (const r of this.pending.all()) {
      if (r.sensorId !== sensorId || r.bootId !== bootId || !this.untrustedPending.has(r.id)) continue;
      r.wallTimeMs = correctedWall(anchor, r.uptimeMs);
      this.untrustedPending.delete(r.id);
    }
  }

  /** Marks every stored reading with id <= `upToId` as delivered by the uplink; returns the rows changed. */
  markSynced(upToId: number): number {
    this.assertOpen();
    checkIntOption('upToId', upToId, 0, Number.MAX_SAFE_INTEGER);
    return this.stmt.markSynced.run(upToId).changes;
  }

  /**
   * Unsynced stored (flushed) readings with id > afterId, by increasing id, at most `limit`; for the
   * sync uplink. Stops before the first reading still stamped with an untrusted clock
   * (time_trusted = 0): the central server keeps the first copy of a reading, so it must not get
   * one whose time is about to be corrected. They are held while the clock is untrusted and for
   * UNTRUSTED_SYNC_GRACE_MS after it became trusted, time for each live boot's first trusted
   * reading to correct them; what is still untrusted then belongs to a boot that ended before
   * the clock was trusted, cannot be corrected, and is sent as it is rather than never.
   */
  unsyncedAfter(afterId: number, limit: number): StoredReading[] {
    this.assertOpen();
    checkIntOption('afterId', afterId, 0, Number.MAX_SAFE_INTEGER);
    checkIntOption('limit', limit, 1, 100_000);
    const holdFrom = this.untrustedSyncHold();
    const rows = this.stmt.unsyncedAfter.all(afterId, holdFrom ?? Number.MAX_SAFE_INTEGER, limit) as Row[];
    return rows.map(fromRow);
  }

  /** Id of the first unsynced untrusted reading while such readings are held back, else null. */
  private untrustedSyncHold(): number | null {
    const now = this.monotonic();
    const trusted = this.timeTrusted();
    if (!trusted) this.trustedSinceMono = null;
    else this.trustedSinceMono ??= now;
    if (trusted) this.heldSinceMono = null;
    if (this.trustedSinceMono !== null && now - this.trustedSinceMono >= UNTRUSTED_SYNC_GRACE_MS) return null;
    const first = (this.stmt.firstUntrustedUnsynced.get() as number | null) ?? null;
    if (first === null || trusted) return first;
    // A clock that stays untrusted (no NTP server on the gateway's network) must not stop sync for
    // good: after MAX_UNTRUSTED_SYNC_HOLD_MS readings go as they are, until the clock is trusted.
    this.heldSinceMono ??= now;
    return now - this.heldSinceMono >= MAX_UNTRUSTED_SYNC_HOLD_MS ? null : first;
  }

  /** markSynced() over afterId < id <= upToId only: a primary-key range, so its cost is the batch, not the table. */
  markSyncedRange(afterId: number, upToId: number): number {
    this.assertOpen();
    return this.db.prepare('UPDATE readings SET synced = 1 WHERE id > ? AND id <= ? AND synced = 0').run(afterId, upToId).changes;
  }

  /** Stored readings waiting for sync and the wall time of the oldest (scans the table: call sparingly). */
  unsyncedBacklog(): { count: number; oldestWallMs: number | null } {
    this.assertOpen();
    const row = this.db.prepare('SELECT count(*) AS count, min(wall_ms) AS oldest FROM readings WHERE synced = 0').get() as { count: number; oldest: number | null };
    return { count: row.count, oldestWallMs: row.oldest };
  }

  /**
   * Changes the hard ceiling at run time (null: none). Raising it after SQLITE_FULL lets the next
   * flush write the buffered readings; this is how tests make "space return".
   */
  setMaxDatabaseBytes(maxDatabaseBytes: number | null): void {
    this.assertOpen();
    if (maxDatabaseBytes !== null) checkIntOption('maxDatabaseBytes', maxDatabaseBytes, 65_536, Number.MAX_SAFE_INTEGER);
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = maxDatabaseBytes === null ? NO_PAGE_LIMIT : Math.max(1, Math.floor(maxDatabaseBytes / pageSize));
    this.db.pragma(`max_page_count = ${pages}`);
  }

  /** Bytes the readings occupy in the file (pages in use; free pages are reused); what the budget measures. */
  usedBytes(): number {
    this.assertOpen();
    const pages = (this.db.pragma('page_count', { simple: true }) as number) - (this.db.pragma('freelist_count', { simple: true }) as number);
    return pages * (this.db.pragma('page_size', { simple: true }) as number);
  }

  /** The first trusted reading of a boot with untrusted readings anchors their correction. */
  private anchorBoot(r: StoredReading): void {
    const buffered = this.untrustedPending.size > 0 && this.pending.all().some((p) => p.sensorId === r.sensorId && p.bootId === r.bootId && this.untrustedPending.has(p.id));
    if (!buffered && !this.corrector.waiting(r.sensorId, r.bootId)) return;
    this.correctBootTime(r.sensorId, r.bootId, { wallTimeMs: r.wallTimeMs, uptimeMs: r.uptimeMs });
  }

  /**
   * When the file is larger than the budget times `slack` (the budget was lowered), give free pages
   * back to the disk (auto_vacuum = INCREMENTAL); otherwise they stay for reuse. At open the slack
   * is 1; after an eviction it is EVICTION_FILE_SLACK, since in steady state the file sits just
   * above the budget when eviction starts, and releasing the pages an eviction freed would only
   * have the next inserts grow the file again: twice the writes to an SD card for nothing.
   */
  private releaseFreePagesOverBudget(slack = 1): void {
    if (this.evictor === null) return;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    if (pages * pageSize > this.evictor.budgetBytes * slack) this.db.pragma('incremental_vacuum');
  }

  /** Writes the buffer in one transaction. On failure (e.g. SQLITE_FULL) it rolls back, keeps the buffer and throws. */
  flush(): number {
    this.assertOpen();
    const batch = this.pending.all();
    if (batch.length === 0 && !this.corrector.hasQueued()) return 0;
    let inserted: number;
    try {
      inserted = this.insertBatch(batch);
    } catch (err) {
      this.noteWriteFailure(err);
      throw err;
    }
    this.noteWriteSuccess();
    this.corrector.committed();
    for (const r of batch) this.untrustedPending.delete(r.id);
    if (batch.length === 0) return 0;
    this.counters.duplicates += batch.length - inserted;
    this.counters.flushes++;
    this.storedCount += inserted;
    this.pending.clear();
    this.enforceBudget();
    return inserted;
  }

  /**
   * Evicts after a successful flush when the budget is exceeded. An eviction failure is logged,
   * never thrown: the flush itself succeeded, and the next flush tries again.
   */
  private enforceBudget(): void {
    if (this.evictor === null) return;
    const total = (): number => this.evictions.thinned + this.evictions.dropped_synced + this.evictions.dropped_unsynced;
    const before = total();
    const unsyncedBefore = this.evictions.dropped_unsynced;
    try {
      this.evictor.enforce(this.evictions);
    } catch (err) {
      this.log(`eviction to keep the byte budget failed (${errorCode(err) ?? 'error'}: ${(err as Error).message}); retried at the next flush`);
    } finally {
      // Steps that committed before a failure are counted too (enforce adds to the counters per step).
      this.storedCount -= total() - before;
    }
    if (total() > before) this.releaseFreePagesOverBudget(EVICTION_FILE_SLACK);
    const unsynced = this.evictions.dropped_unsynced - unsyncedBefore;
    if (unsynced > 0) this.log(`byte budget reached with nothing synced left: dropped ${unsynced} unsynced readings`);
  }

  private noteWriteFailure(err: unknown): void {
    const code = errorCode(err) ?? 'error';
    if (this.writeError === null) {
      this.log(`store writes failing (${code}: ${(err as Error).message}); readings stay buffered (at most ${this.pending.capacity}) and live publishing continues`);
    }
    this.flushFailing = true;
    this.writeError = code;
  }

  private noteWriteSuccess(): void {
    if (this.writeError !== null) this.log(`store writes resumed after ${this.writeError}; buffered readings written`);
    this.flushFailing = false;
    this.writeError = null;
  }

  recent(sensorId: string, sinceMs: number, limit?: number): StoredReading[] {
    this.assertOpen();
    const max = resolveLimit(limit);
    checkSince(sinceMs);
    const rows = this.stmt.recent.all(sensorId, sinceMs, max) as Row[];
    const stored = rows.reverse().map(fromRow);
    return mergeRecent(stored, this.pending.matching(sensorId, sinceMs), max).map((r) => copyReading(r, r.id));
  }

  /**
   * One aggregate query over the (sensor_id, wall_ms) index, then the buffered readings folded in.
   * A thinned row counts with its `samples`, so its step has the mean of the readings it replaced.
   */
  stepAggregates(sensorId: string, query: StepQuery): StepAggregate[] {
    this.assertOpen();
    checkStepQuery(query);
    const acc = new StepAccumulator(query);
    const rows = this.stepStatement(query.unusableFlags).all({ sensor: sensorId, from: query.fromMs, to: query.toMs, step: query.stepMs }) as StepRow[];
    for (const r of rows) acc.addPartial(r.k, r.sum, r.usable, r.newest_usable, r.newest);
    for (const r of this.pending.matching(sensorId, query.fromMs)) acc.addReading(r);
    return acc.result();
  }

  private stepStatement(unusableFlags: readonly QualityFlag[]): Database.Statement {
    const flags = [...new Set(unusableFlags)].sort();
    const key = flags.join(',');
    let stmt = this.stepStatements.get(key);
    if (stmt) return stmt;
    // Flags are checked against QUALITY_FLAGS (checkStepQuery).
    const usable = usableReadingSql(flags);
    stmt = this.db.prepare(
      // better-sqlite3 binds JS numbers as REAL: the CAST truncates the (non-negative) quotient, i.e. floors it as bucketMeans does.
      `SELECT CAST((wall_ms - @from) / @step AS INTEGER) AS k,
              total(CASE WHEN ${usable} THEN rh * samples END) AS sum,
              total(CASE WHEN ${usable} THEN samples END) AS usable,
              max(CASE WHEN ${usable} THEN wall_ms END) AS newest_usable,
              max(wall_ms) AS newest
         FROM readings
        WHERE sensor_id = @sensor AND wall_ms >= @from AND wall_ms < @to
        GROUP BY k`,
    );
    this.stepStatements.set(key, stmt);
    return stmt;
  }

  sensors(): string[] {
    this.assertOpen();
    return [...this.sensorIds].sort();
  }

  stats(): StoreStats {
    this.assertOpen();
    const pageCount = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return {
      readings: this.storedCount,
      bytes: pageCount * pageSize + walBytes(this.file),
      pending: this.pending.size,
      ...this.counters,
      evictions: { ...this.evictions },
      writeError: this.writeError,
    };
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
      this.untrustedPending.clear();
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
      } catch {
        // noteWriteFailure logged the error code; this line says what happens to the data.
        this.log(`write buffer full (${this.pending.size} readings) and the flush failed: dropping oldest readings until a flush succeeds`);
      }
    }
    const dropped = this.pending.dropOldest();
    if (dropped) this.untrustedPending.delete(dropped.id);
    this.counters.dropped++;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', `the store ${this.file} is closed`);
  }
}

function toParams(r: StoredReading, synced: 0 | 1, timeTrusted: 0 | 1): Record<string, unknown> {
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
    synced,
    timeTrusted,
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
