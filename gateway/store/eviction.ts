import type Database from 'better-sqlite3';

/** Eviction counters, by kind, in readings (docs/storage.md, "Byte budget"). */
export interface EvictionCounts {
  /** Readings folded into a coarser mean row by thinning (the rows that disappeared). */
  thinned: number;
  /** Readings deleted, oldest first, that an uplink had already delivered (or no uplink is configured). */
  dropped_synced: number;
  /** Readings deleted, oldest first, that no uplink had delivered yet: the last resort. */
  dropped_unsynced: number;
}

/** Thinning steps, finest first: raw readings become 1-minute means, then 10-minute means. */
export const THINNING_STEPS_MS: readonly number[] = [60_000, 600_000];
/** Eviction stops once the used bytes are below this fraction of the budget, so it runs in chunks, not on every flush. */
export const LOW_WATER_FRACTION = 0.9;
/** Rows one eviction step reads or deletes at most (bounds the memory and the length of one transaction). */
export const MAX_ROWS_PER_STEP = 20_000;
/** Steps one enforce() call runs at most (bounds the time a flush blocks the event loop, about 160 000 rows; the next flush continues while over budget). */
export const MAX_STEPS_PER_ENFORCE = 8;

interface ThinRow {
  id: number;
  sensor_id: string;
  boot_id: string;
  wall_ms: number;
  rh: number | null;
  temp_c: number | null;
  quality: string;
  time_trusted: number;
  samples: number;
}

interface Group {
  first: ThinRow;
  rows: ThinRow[];
}

/**
 * Keeps the readings table within a byte budget (used pages, i.e. page_count minus the freelist,
 * times page_size). Order, each tried only when the previous has nothing left to do:
 * 1. thin synced readings in the older half of the table (by row count) to 1-minute means,
 * 2. then those to 10-minute means,
 * 3. drop the oldest synced readings,
 * 4. drop the oldest unsynced readings.
 * The newer half of the rows is never thinned: recent data stays at full resolution.
 * Freed pages go to SQLite's freelist and are reused by the next inserts, so the file stops growing.
 * Every step is one synchronous transaction; callers run enforce() outside any other transaction.
 */
export class Evictor {
  private readonly stmt;
  private readonly thinGroups: (groups: Group[], resolutionMs: number) => number;

  constructor(
    private readonly db: Database.Database,
    readonly budgetBytes: number,
  ) {
    this.stmt = {
      pageCount: db.prepare('PRAGMA page_count').pluck(),
      freePages: db.prepare('PRAGMA freelist_count').pluck(),
      pageSize: db.prepare('PRAGMA page_size').pluck(),
      count: db.prepare('SELECT count(*) FROM readings').pluck(),
      // O(rows) on the primary key; runs once per enforce(), i.e. once per 10 % of the budget written.
      medianId: db.prepare('SELECT id FROM readings ORDER BY id LIMIT 1 OFFSET ?').pluck(),
      thinCandidates: db.prepare(
        `SELECT id, sensor_id, boot_id, wall_ms, rh, temp_c, quality, time_trusted, samples FROM readings
         WHERE id <= ? AND synced = 1 AND resolution_ms < ? ORDER BY id LIMIT ?`,
      ),
      updateMean: db.prepare('UPDATE readings SET rh = ?, temp_c = ?, quality = ?, resolution_ms = ?, samples = ? WHERE id = ?'),
      deleteOne: db.prepare('DELETE FROM readings WHERE id = ?'),
      dropOldest: db.prepare('DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE synced = ? ORDER BY id LIMIT ?)'),
    };
    this.thinGroups = db.transaction((groups: Group[], resolutionMs: number) => {
      let removed = 0;
      for (const g of groups) {
        const mean = combine(g.rows);
        this.stmt.updateMean.run(mean.rh, mean.tempC, mean.quality, resolutionMs, mean.samples, g.first.id);
        for (const r of g.rows) {
          if (r.id === g.first.id) continue;
          this.stmt.deleteOne.run(r.id);
          removed++;
        }
      }
      return removed;
    });
  }

  /** Bytes the table and indexes occupy (freelist pages excluded: they are reused). */
  usedBytes(): number {
    const pages = (this.stmt.pageCount.get() as number) - (this.stmt.freePages.get() as number);
    return pages * (this.stmt.pageSize.get() as number);
  }

  /**
   * Brings the used bytes under the budget's low-water mark if they are over the budget. Adds what
   * each committed step evicted to `counts` as it goes (so a step that throws loses no count) and
   * returns `counts`.
   */
  enforce(counts: EvictionCounts = { thinned: 0, dropped_synced: 0, dropped_unsynced: 0 }): EvictionCounts {
    let used = this.usedBytes();
    if (used <= this.budgetBytes) return counts;
    const target = Math.floor(this.budgetBytes * LOW_WATER_FRACTION);
    // The newer half of the rows (by count, as they are at the start) is never thinned.
    const olderHalfEnd = (this.stmt.medianId.get(Math.floor((this.stmt.count.get() as number) / 2)) as number | undefined) ?? 0;
    for (let step = 0; step < MAX_STEPS_PER_ENFORCE && used > target; step++) {
      const rows = this.stmt.count.get() as number;
      if (rows === 0) break;
      const wanted = Math.min(MAX_ROWS_PER_STEP, Math.max(1, Math.ceil(((used - target) / used) * rows)));
      if (!this.evictStep(wanted, olderHalfEnd, counts)) break;
      used = this.usedBytes();
    }
    return counts;
  }

  /** One step of the first kind that has work; false when nothing at all is left to evict. */
  private evictStep(wanted: number, olderHalfEnd: number, counts: EvictionCounts): boolean {
    for (const resolutionMs of THINNING_STEPS_MS) {
      const result = this.thin(resolutionMs, wanted, olderHalfEnd);
      if (result.processed > 0) {
        counts.thinned += result.removed;
        return true;
      }
    }
    const synced = this.stmt.dropOldest.run(1, wanted).changes;
    if (synced > 0) {
      counts.dropped_synced += synced;
      return true;
    }
    const unsynced = this.stmt.dropOldest.run(0, wanted).changes;
    counts.dropped_unsynced += unsynced;
    return unsynced > 0;
  }

  /**
   * Folds synced rows with id <= olderHalfEnd finer than `resolutionMs` into one mean row per
   * (sensor, boot, clock trust, time bucket). Reads enough rows to remove about `wanted`.
   */
  private thin(resolutionMs: number, wanted: number, olderHalfEnd: number): { processed: number; removed: number } {
    const limit = Math.min(MAX_ROWS_PER_STEP, wanted * 2 + 16);
    const rows = this.stmt.thinCandidates.all(olderHalfEnd, resolutionMs, limit) as ThinRow[];
    if (rows.length === 0) return { processed: 0, removed: 0 };
    const groups = groupRows(rows, resolutionMs);
    // A full read may have cut the last bucket in two: leave that bucket for the next step.
    if (rows.length === limit && groups.length > 1) groups.pop();
    const removed = this.thinGroups(groups, resolutionMs);
    return { processed: groups.reduce((n, g) => n + g.rows.length, 0), removed };
  }
}

function groupRows(rows: ThinRow[], resolutionMs: number): Group[] {
  const groups = new Map<string, Group>();
  for (const r of rows) {
    const key = `${r.sensor_id}\u0000${r.boot_id}\u0000${r.time_trusted}\u0000${Math.floor(r.wall_ms / resolutionMs)}`;
    const g = groups.get(key);
    if (g) g.rows.push(r);
    else groups.set(key, { first: r, rows: [r] });
  }
  return [...groups.values()];
}

/** Sample-weighted means (nulls left out; null when every value is null) and the union of the flags. */
function combine(rows: ThinRow[]): { rh: number | null; tempC: number | null; quality: string; samples: number } {
  const flags = new Set<string>();
  let samples = 0;
  for (const r of rows) {
    samples += r.samples;
    for (const f of r.quality.split(',')) if (f !== '') flags.add(f);
  }
  return { rh: weightedMean(rows, (r) => r.rh), tempC: weightedMean(rows, (r) => r.temp_c), quality: [...flags].sort().join(','), samples };
}

function weightedMean(rows: ThinRow[], value: (r: ThinRow) => number | null): number | null {
  let sum = 0;
  let weight = 0;
  for (const r of rows) {
    const v = value(r);
    if (v === null) continue;
    sum += v * r.samples;
    weight += r.samples;
  }
  return weight === 0 ? null : sum / weight;
}
