import type { QualityFlag, Reading } from '../types.ts';

/** A stored reading with its store-assigned row id (monotonic insertion order). */
export interface StoredReading extends Reading {
  id: number;
}

/** What stepAggregates() folds: one sensor's readings in [fromMs, toMs), per step of stepMs. */
export interface StepQuery {
  /** Start of the first step, ms since the epoch (an integer; the caller aligns it). */
  fromMs: number;
  /** End of the range, exclusive, ms; the last step is cut there. At most MAX_AGGREGATE_STEPS steps. */
  toMs: number;
  /** Step length, ms (an integer >= 1). Steps are [fromMs + k * stepMs, fromMs + (k + 1) * stepMs). */
  stepMs: number;
  /** A reading carrying any of these flags, or with rh null, is not usable: left out of the mean. */
  unusableFlags: readonly QualityFlag[];
}

/** One step of stepAggregates(): the step's usable mean and how fresh its readings are. */
export interface StepAggregate {
  /** Start of the step, ms. */
  startMs: number;
  /** Mean rh of the step's usable readings, %RH; null when none is usable. */
  meanRh: number | null;
  /** Usable readings behind meanRh (a thinned row counts as the readings it replaced). */
  usable: number;
  /** Wall time of the step's newest usable reading, or null. */
  newestUsableMs: number | null;
  /** Wall time of the step's newest reading, usable or not. */
  newestMs: number;
}

export interface StoreStats {
  /** Number of readings currently stored. */
  readings: number;
  /** Size of the database in bytes (0 for the memory store). */
  bytes: number;
  /** Readings waiting in the write buffer (not yet durable). */
  pending: number;
  /** Flushes that wrote at least one reading since open (empty flushes are not counted). */
  flushes: number;
  /** Readings ignored since open because the same (sensorId, bootId, seq) was already kept. */
  duplicates: number;
  /**
   * Readings dropped since open because the write buffer was full while flushes kept failing
   * (e.g. disk full). The oldest buffered reading goes first. 0 on a healthy gateway.
   */
  dropped: number;
  /**
   * Readings removed to keep the byte budget, by kind, in eviction order (docs/storage.md):
   * thinned into coarser means, then dropped oldest-first while synced, then unsynced.
   */
  evictions: { thinned: number; dropped_synced: number; dropped_unsynced: number };
  /**
   * Code of the error the last flush failed with (SQLITE_FULL on a full disk or at maxDatabaseBytes,
   * SQLITE_IOERR...), while writes are failing; null once a flush succeeds again.
   */
  writeError: string | null;
}

/**
 * Keeps every reading. Contract (shared by every implementation, see store.contract.ts):
 * - append() is synchronous and cheap: it buffers; the reading is durable after the next flush().
 * - flush() writes the whole buffer in one transaction and returns how many readings it wrote.
 * - recent() returns readings of one sensor with wallTimeMs >= sinceMs, oldest first, including
 *   buffered ones, so forecasting sees the newest data.
 * - stepAggregates() folds the same readings (buffered ones included) into per-step means, the
 *   resampling rule of models/resample.ts (bucketMeans): memory and time bounded by the number of
 *   steps, not of readings, so a 24 h model window costs the same at 1 reading/s as at 1/min.
 * - close() flushes, then releases every handle; the store is unusable afterwards (calls throw
 *   a StoreError with code STORE_CLOSED; a second close() is a no-op).
 * - A reading whose (sensorId, bootId, seq) is already kept, stored or buffered, is ignored and
 *   counted in stats().duplicates: a firmware that resends after a link drop never doubles data.
 * - The write buffer holds at most `maxPendingReadings`; reaching it forces a flush, and while
 *   flushes fail the oldest buffered reading is dropped (counted in stats().dropped).
 */
export interface ReadingStore {
  /**
   * Buffers one reading: true when it is new, false for a duplicate of one already stored or
   * buffered (counted, not stored: the caller must not announce it again). Throws a StoreError
   * (code STORE_INVALID_READING) naming the bad field.
   */
  append(reading: Reading): boolean;
  /** Writes the buffer; on failure the buffer is kept intact and the error is thrown. */
  flush(): number;
  /** `limit` defaults to DEFAULT_RECENT_LIMIT; the newest `limit` matches are returned, oldest first. */
  recent(sensorId: string, sinceMs: number, limit?: number): StoredReading[];
  /**
   * Per-step aggregates of one sensor's readings in [fromMs, toMs), oldest first; only steps that
   * have a reading (usable or not) are listed. Throws a StoreError STORE_INVALID_ARGUMENT naming
   * the bad field of `query`.
   */
  stepAggregates(sensorId: string, query: StepQuery): StepAggregate[];
  sensors(): string[];
  stats(): StoreStats;
  close(): void;
}

/** Default and upper bound of recent()'s `limit`, in readings (bounds the memory of one call). */
export const DEFAULT_RECENT_LIMIT = 10_000;
export const MAX_RECENT_LIMIT = 1_000_000;
/** Most steps one stepAggregates() call may span (bounds its result: 100 000 steps of 1 min is 69 days). */
export const MAX_AGGREGATE_STEPS = 100_000;
/** Default bound of the write buffer, in readings (about 2 MB of JS objects). */
export const DEFAULT_MAX_PENDING_READINGS = 10_000;
