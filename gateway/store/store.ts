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
  /** Flushes completed since open. */
  flushes: number;
}

/**
 * Keeps every reading. Contract (shared by every implementation, see store.contract.ts):
 * - append() is synchronous and cheap: it buffers; the reading is durable after the next flush().
 * - flush() writes the whole buffer in one transaction and returns how many readings it wrote.
 * - recent() returns readings of one sensor with wallTimeMs >= sinceMs, oldest first, including
 *   buffered ones, so forecasting sees the newest data.
 * - close() flushes, then releases every handle; the store is unusable afterwards.
 */
export interface ReadingStore {
  append(reading: Reading): void;
  flush(): number;
  recent(sensorId: string, sinceMs: number, limit?: number): StoredReading[];
  sensors(): string[];
  stats(): StoreStats;
  close(): void;
}
