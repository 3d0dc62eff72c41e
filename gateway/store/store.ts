import type { Reading } from '../types.ts';

/** A stored reading with its store-assigned row id (monotonic insertion order). */
export interface StoredReading extends Reading {
  id: number;
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
 * - close() flushes, then releases every handle; the store is unusable afterwards (calls throw
 *   a StoreError with code STORE_CLOSED; a second close() is a no-op).
 * - A reading whose (sensorId, bootId, seq) is already kept, stored or buffered, is ignored and
 *   counted in stats().duplicates: a firmware that resends after a link drop never doubles data.
 * - The write buffer holds at most `maxPendingReadings`; reaching it forces a flush, and while
 *   flushes fail the oldest buffered reading is dropped (counted in stats().dropped).
 */
export interface ReadingStore {
  /** Buffers one reading; throws a StoreError (code STORE_INVALID_READING) naming the bad field. */
  append(reading: Reading): void;
  /** Writes the buffer; on failure the buffer is kept intact and the error is thrown. */
  flush(): number;
  /** `limit` defaults to DEFAULT_RECENT_LIMIT; the newest `limit` matches are returned, oldest first. */
  recent(sensorId: string, sinceMs: number, limit?: number): StoredReading[];
  sensors(): string[];
  stats(): StoreStats;
  close(): void;
}

/** Default and upper bound of recent()'s `limit`, in readings (bounds the memory of one call). */
export const DEFAULT_RECENT_LIMIT = 10_000;
export const MAX_RECENT_LIMIT = 1_000_000;
/** Default bound of the write buffer, in readings (about 2 MB of JS objects). */
export const DEFAULT_MAX_PENDING_READINGS = 10_000;
