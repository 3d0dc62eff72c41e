import type Database from 'better-sqlite3';
import type { Reading } from '../types.ts';
import { StoreError } from './errors.ts';

/** A trusted (wall clock, device uptime) pair of one (sensor, boot): wall = anchor.wall + (uptime - anchor.uptime). */
export interface TimeAnchor {
  wallTimeMs: number;
  uptimeMs: number;
}

/** Bound of the (sensor, boot) pairs remembered as having untrusted rows; beyond it the oldest is forgotten (its rows stay uncorrected). */
export const MAX_UNTRUSTED_BOOTS = 4096;

interface QueuedCorrection {
  sensorId: string;
  bootId: string;
  anchor: TimeAnchor;
}

export function bootKey(sensorId: string, bootId: string): string {
  return `${sensorId}\u0000${bootId}`;
}

/** The wall time of `uptimeMs` in the boot that `anchor` belongs to. */
export function correctedWall(anchor: TimeAnchor, uptimeMs: number): number {
  return Math.round(anchor.wallTimeMs + (uptimeMs - anchor.uptimeMs));
}

/**
 * Remembers which (sensor, boot) pairs have stored rows with time_trusted = 0 and rewrites their
 * wall_ms once an anchor is known. Device uptime is monotonic within a boot and never jumps, so
 * the corrected times keep the device's own order and spacing; rows are matched by their
 * identity, never merged. Corrections are queued and applied by the store inside its flush
 * transaction (applyQueued), so a failed flush loses none of them.
 */
export class StoredTimeCorrector {
  private readonly boots = new Set<string>();
  private readonly queued = new Map<string, QueuedCorrection>();
  private readonly update: Database.Statement;

  constructor(db: Database.Database) {
    const rows = db.prepare('SELECT DISTINCT sensor_id, boot_id FROM readings WHERE time_trusted = 0').all() as Array<{ sensor_id: string; boot_id: string }>;
    for (const r of rows) this.remember(bootKey(r.sensor_id, r.boot_id));
    this.update = db.prepare(
      'UPDATE readings SET wall_ms = round(@wall + (uptime_ms - @uptime)), time_trusted = 1 WHERE sensor_id = @sensorId AND boot_id = @bootId AND time_trusted = 0',
    );
  }

  /** A row of this boot is being stored with time_trusted = 0. */
  noteUntrusted(r: Pick<Reading, 'sensorId' | 'bootId'>): void {
    this.remember(bootKey(r.sensorId, r.bootId));
  }

  /** True when stored rows of this boot are waiting for an anchor. */
  waiting(sensorId: string, bootId: string): boolean {
    return this.boots.has(bootKey(sensorId, bootId));
  }

  /** Queues the rewrite of this boot's untrusted stored rows; applied at the next flush. */
  queue(sensorId: string, bootId: string, anchor: TimeAnchor): void {
    if (!Number.isFinite(anchor.wallTimeMs) || !Number.isFinite(anchor.uptimeMs) || anchor.uptimeMs < 0) {
      throw new StoreError('STORE_INVALID_ARGUMENT', `time anchor must have a finite wallTimeMs and a non-negative uptimeMs (got ${JSON.stringify(anchor)})`);
    }
    const key = bootKey(sensorId, bootId);
    this.boots.delete(key);
    this.queued.set(key, { sensorId, bootId, anchor: { ...anchor } });
  }

  hasQueued(): boolean {
    return this.queued.size > 0;
  }

  /** Runs the queued rewrites; call inside a transaction. Returns the rows corrected. */
  applyQueued(): number {
    let corrected = 0;
    for (const q of this.queued.values()) {
      corrected += this.update.run({ wall: q.anchor.wallTimeMs, uptime: q.anchor.uptimeMs, sensorId: q.sensorId, bootId: q.bootId }).changes;
    }
    return corrected;
  }

  /** The transaction that ran applyQueued() committed. */
  committed(): void {
    this.queued.clear();
  }

  private remember(key: string): void {
    if (this.boots.has(key)) return;
    if (this.boots.size >= MAX_UNTRUSTED_BOOTS) {
      const oldest = this.boots.values().next().value;
      if (oldest !== undefined) this.boots.delete(oldest);
    }
    this.boots.add(key);
  }
}
