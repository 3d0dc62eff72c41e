import type { Reading } from '../types.ts';
import type { StoredReading } from './store.ts';

/** Identity of a reading: the firmware's (sensorId, bootId, seq). NUL cannot occur in any part. */
export function readingKey(r: Pick<Reading, 'sensorId' | 'bootId' | 'seq'>): string {
  return `${r.sensorId}\u0000${r.bootId}\u0000${r.seq}`;
}

/** Oldest first by wall time, insertion order (id) breaking ties: the order recent() promises. */
export function byWallTime(a: StoredReading, b: StoredReading): number {
  return a.wallTimeMs - b.wallTimeMs || a.id - b.id;
}

/**
 * The write buffer both stores share: readings appended but not yet flushed, in append order,
 * with their identities indexed so a resent reading is recognised before it is written.
 * Bounded by `capacity`; the owner decides what happens when it is full (flush or dropOldest).
 */
export class PendingBuffer {
  private items: StoredReading[] = [];
  private readonly keys = new Set<string>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  isFull(): boolean {
    return this.items.length >= this.capacity;
  }

  has(r: Reading): boolean {
    return this.keys.has(readingKey(r));
  }

  /** Adds a reading; the caller has made room (size < capacity) and checked for duplicates. */
  push(r: StoredReading): void {
    this.items.push(r);
    this.keys.add(readingKey(r));
  }

  /** Removes and returns the oldest reading (O(n); happens only while flushes fail). */
  dropOldest(): StoredReading | undefined {
    const oldest = this.items.shift();
    if (oldest) this.keys.delete(readingKey(oldest));
    return oldest;
  }

  /** The buffered readings in append order; valid until the next push/clear. */
  all(): readonly StoredReading[] {
    return this.items;
  }

  /** Buffered readings of one sensor with wallTimeMs >= sinceMs. */
  matching(sensorId: string, sinceMs: number): StoredReading[] {
    return this.items.filter((r) => r.sensorId === sensorId && r.wallTimeMs >= sinceMs);
  }

  clear(): void {
    this.items = [];
    this.keys.clear();
  }
}

/** Merges stored and buffered matches and keeps the newest `limit`, oldest first. */
export function mergeRecent(stored: StoredReading[], pending: StoredReading[], limit: number): StoredReading[] {
  const all = pending.length === 0 ? stored : [...stored, ...pending].sort(byWallTime);
  return all.length > limit ? all.slice(all.length - limit) : all;
}

/** A defensive copy, so a caller mutating its reading later cannot change what is kept. */
export function copyReading(r: Reading, id: number): StoredReading {
  return {
    id,
    sensorId: r.sensorId,
    bootId: r.bootId,
    seq: r.seq,
    uptimeMs: r.uptimeMs,
    wallTimeMs: r.wallTimeMs,
    rh: r.rh,
    tempC: r.tempC,
    quality: [...r.quality],
  };
}
