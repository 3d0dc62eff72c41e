import type { Clock } from '../clock.ts';
import type { ReadingStore } from '../store/store.ts';
import { checkIntOption } from './errors.ts';
import { describeError, type CheckResult, type HealthCheck } from './health.ts';

export interface StoreWritableOptions {
  clock: Clock;
  /** The flush timer's interval, in ms (config store.flushIntervalMs). A flush is expected at least every 2 of these. */
  flushIntervalMs: number;
  /**
   * Asked when the last flush failed: a write that throws when the database's filesystem cannot
   * take a SQLite write (see SqliteWriteProbe). Without it, a failed last flush fails the check.
   */
  probe?: () => void;
}

type Outcome = { ok: true; atMs: number } | { ok: false; atMs: number; error: string };

/**
 * "The store can write": the last flush succeeded within 2 flush intervals, or the last flush
 * failed (recently) and the write probe succeeds. The flush timer calls flush() every interval
 * even with nothing buffered, so a healthy store always has a recent success. A flush timer that
 * stopped firing (no flush at all, or only an old one) fails whatever the probe says: the probe
 * writes its own file and would pass on a writable disk while readings pile up in memory. A
 * failing flush fails only when the probe confirms the file system refuses SQLite writes
 * (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY): a restart loses the buffered readings and does not
 * cure a lock held by another process. Flushes are observed by handing the flush timer
 * `instrument(store)` instead of the store. A start-up grace of 2 flush intervals covers the time
 * before the first flush.
 */
export class StoreWritableCheck implements HealthCheck {
  readonly name = 'store';
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly probe: (() => void) | null;
  private last: Outcome | null = null;
  private readonly createdMs: number;

  constructor(options: StoreWritableOptions) {
    this.clock = options.clock;
    this.windowMs = 2 * checkIntOption('flushIntervalMs', options.flushIntervalMs, 1, 3_600_000);
    this.probe = options.probe ?? null;
    this.createdMs = this.clock.monotonic();
  }

  /** A ReadingStore that is `store` with every flush() outcome recorded; give it to the flush timer. */
  instrument(store: ReadingStore): ReadingStore {
    return {
      append: (reading) => store.append(reading),
      flush: () => {
        try {
          const written = store.flush();
          this.noteFlushOk();
          return written;
        } catch (err) {
          this.noteFlushFailed(err);
          throw err;
        }
      },
      recent: (sensorId, sinceMs, limit) => store.recent(sensorId, sinceMs, limit),
      stepAggregates: (sensorId, query) => store.stepAggregates(sensorId, query),
      sensors: () => store.sensors(),
      stats: () => store.stats(),
      close: () => store.close(),
    };
  }

  noteFlushOk(): void {
    this.last = { ok: true, atMs: this.clock.monotonic() };
  }

  noteFlushFailed(err: unknown): void {
    this.last = { ok: false, atMs: this.clock.monotonic(), error: describeError(err) };
  }

  run(): CheckResult {
    const now = this.clock.monotonic();
    if (this.last === null && now - this.createdMs <= this.windowMs) return { ok: true, detail: 'waiting for the first flush' };
    if (this.last?.ok && now - this.last.atMs <= this.windowMs) return { ok: true, detail: `last flush ${Math.round(now - this.last.atMs)} ms ago` };
    const evidence = this.describeLast(now);
    const failedRecently = this.last !== null && !this.last.ok && now - this.last.atMs <= this.windowMs;
    if (!this.probe || !failedRecently) return { ok: false, detail: evidence };
    try {
      this.probe();
      return { ok: true, detail: `${evidence}; the write probe succeeded` };
    } catch (err) {
      return { ok: false, detail: `${evidence}; the write probe failed: ${describeError(err)}` };
    }
  }

  private describeLast(now: number): string {
    const expect = `expected every ${this.windowMs / 2} ms`;
    if (this.last === null) return `no flush since start ${Math.round(now - this.createdMs)} ms ago (${expect})`;
    const ago = Math.round(now - this.last.atMs);
    return this.last.ok ? `last flush ${ago} ms ago (${expect})` : `last flush failed ${ago} ms ago: ${this.last.error}`;
  }
}
