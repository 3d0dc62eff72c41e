import type { Reading } from '../types.ts';
import { StoreError } from './errors.ts';
import { PendingBuffer, byWallTime, copyReading, mergeRecent, readingKey } from './pending-buffer.ts';
import { StepAccumulator, checkStepQuery } from './step-aggregates.ts';
import { DEFAULT_MAX_PENDING_READINGS, type ReadingStore, type StepAggregate, type StepQuery, type StoreStats, type StoredReading } from './store.ts';
import { checkIntOption, checkSince, resolveLimit, validateReading } from './validate.ts';

export interface MemoryStoreOptions {
  /** Readings kept; beyond this the oldest (lowest id) are evicted at flush. Default 100 000. */
  maxReadings?: number;
  /** Bound of the write buffer; reaching it forces a flush. Default DEFAULT_MAX_PENDING_READINGS. */
  maxPendingReadings?: number;
}

export const DEFAULT_MEMORY_MAX_READINGS = 100_000;

/**
 * A complete in-memory ReadingStore (the store's fake): same buffering, duplicate and ordering
 * rules as SqliteStore, nothing durable. Used when no disk may be written and in tests of the
 * components above the store. An evicted reading's identity is forgotten, so a resend of it
 * after eviction is stored again.
 */
export class MemoryStore implements ReadingStore {
  private stored: StoredReading[] = [];
  private readonly storedKeys = new Set<string>();
  private readonly sensorIds = new Set<string>();
  private readonly pending: PendingBuffer;
  private readonly maxReadings: number;
  private nextId = 1;
  private closed = false;
  private counters = { flushes: 0, duplicates: 0, dropped: 0 };
  /** Nothing is ever synced from memory, and nothing waits for sync: maxReadings evictions count as dropped_synced. */
  private readonly evictions = { thinned: 0, dropped_synced: 0, dropped_unsynced: 0 };

  constructor(options: MemoryStoreOptions = {}) {
    this.maxReadings = checkIntOption('maxReadings', options.maxReadings ?? DEFAULT_MEMORY_MAX_READINGS, 1, 100_000_000);
    const maxPending = checkIntOption('maxPendingReadings', options.maxPendingReadings ?? DEFAULT_MAX_PENDING_READINGS, 1, 10_000_000);
    this.pending = new PendingBuffer(maxPending);
  }

  append(reading: Reading): boolean {
    this.assertOpen();
    validateReading(reading);
    if (this.pending.has(reading) || this.storedKeys.has(readingKey(reading))) {
      this.counters.duplicates++;
      return false;
    }
    if (this.pending.isFull()) this.flush();
    this.pending.push(copyReading(reading, this.nextId++));
    this.sensorIds.add(reading.sensorId);
    return true;
  }

  flush(): number {
    this.assertOpen();
    const batch = this.pending.all();
    if (batch.length === 0) return 0;
    for (const r of batch) {
      this.stored.push(r);
      this.storedKeys.add(readingKey(r));
    }
    const written = batch.length;
    this.pending.clear();
    this.evict();
    this.counters.flushes++;
    return written;
  }

  recent(sensorId: string, sinceMs: number, limit?: number): StoredReading[] {
    this.assertOpen();
    const max = resolveLimit(limit);
    checkSince(sinceMs);
    const stored = this.stored.filter((r) => r.sensorId === sensorId && r.wallTimeMs >= sinceMs).sort(byWallTime);
    return mergeRecent(stored, this.pending.matching(sensorId, sinceMs), max).map((r) => copyReading(r, r.id));
  }

  stepAggregates(sensorId: string, query: StepQuery): StepAggregate[] {
    this.assertOpen();
    checkStepQuery(query);
    const acc = new StepAccumulator(query);
    for (const r of this.stored) if (r.sensorId === sensorId) acc.addReading(r);
    for (const r of this.pending.matching(sensorId, query.fromMs)) acc.addReading(r);
    return acc.result();
  }

  sensors(): string[] {
    this.assertOpen();
    return [...this.sensorIds].sort();
  }

  stats(): StoreStats {
    this.assertOpen();
    return { readings: this.stored.length, bytes: 0, pending: this.pending.size, ...this.counters, evictions: { ...this.evictions }, writeError: null };
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.stored = [];
    this.storedKeys.clear();
  }

  private evict(): void {
    const excess = this.stored.length - this.maxReadings;
    if (excess <= 0) return;
    for (const r of this.stored.splice(0, excess)) this.storedKeys.delete(readingKey(r));
    this.evictions.dropped_synced += excess;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'the memory store is closed');
  }
}
