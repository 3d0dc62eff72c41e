import type { QualityFlag } from '../types.ts';
import { StoreError } from './errors.ts';
import { MAX_AGGREGATE_STEPS, type StepAggregate, type StepQuery } from './store.ts';
import { QUALITY_FLAGS } from './validate.ts';

/** Largest step accepted, ms: a week, far coarser than any model step or scoring window. */
const MAX_STEP_MS = 7 * 86_400_000;

function badQuery(why: string): never {
  throw new StoreError('STORE_INVALID_ARGUMENT', `stepAggregates(): ${why}`);
}

/** Checks a StepQuery; throws STORE_INVALID_ARGUMENT naming the bad field. Returns the number of steps. */
export function checkStepQuery(q: StepQuery): number {
  if (!Number.isSafeInteger(q.stepMs) || q.stepMs < 1 || q.stepMs > MAX_STEP_MS) badQuery(`stepMs must be an integer from 1 to ${MAX_STEP_MS} (got ${q.stepMs})`);
  if (!Number.isSafeInteger(q.fromMs)) badQuery(`fromMs must be an integer number of ms since the epoch (got ${q.fromMs})`);
  if (!Number.isSafeInteger(q.toMs) || q.toMs <= q.fromMs) badQuery(`toMs must be an integer after fromMs=${q.fromMs} (got ${q.toMs})`);
  const steps = Math.ceil((q.toMs - q.fromMs) / q.stepMs);
  if (steps > MAX_AGGREGATE_STEPS) badQuery(`[fromMs, toMs) spans ${steps} steps of ${q.stepMs} ms, more than ${MAX_AGGREGATE_STEPS}`);
  if (!Array.isArray(q.unusableFlags)) badQuery('unusableFlags must be an array of quality flags');
  for (const f of q.unusableFlags) {
    if (!QUALITY_FLAGS.includes(f)) badQuery(`unusableFlags has an unknown flag ${JSON.stringify(f)} (known: ${QUALITY_FLAGS.join(', ')})`);
  }
  return steps;
}

interface Acc {
  sum: number;
  usable: number;
  newestUsableMs: number | null;
  newestMs: number;
}

/**
 * Folds readings (or partial per-step sums from SQL) into StepAggregates. Memory is one entry per
 * step that has a reading, so at most MAX_AGGREGATE_STEPS whatever the reading rate.
 */
export class StepAccumulator {
  private readonly steps = new Map<number, Acc>();
  private readonly unusable: ReadonlySet<QualityFlag>;

  constructor(private readonly q: StepQuery) {
    this.unusable = new Set(q.unusableFlags);
  }

  /** One reading; ignored outside [fromMs, toMs). */
  addReading(r: { wallTimeMs: number; rh: number | null; quality: readonly QualityFlag[] }): void {
    if (!(r.wallTimeMs >= this.q.fromMs && r.wallTimeMs < this.q.toMs)) return;
    const usable = r.rh !== null && !r.quality.some((f) => this.unusable.has(f));
    const k = Math.floor((r.wallTimeMs - this.q.fromMs) / this.q.stepMs);
    this.addPartial(k, usable ? (r.rh ?? 0) : 0, usable ? 1 : 0, usable ? r.wallTimeMs : null, r.wallTimeMs);
  }

  /** A partial aggregate of step `k` (the store's SQL sums). */
  addPartial(k: number, sum: number, usable: number, newestUsableMs: number | null, newestMs: number): void {
    const acc = this.steps.get(k);
    if (!acc) {
      this.steps.set(k, { sum, usable, newestUsableMs, newestMs });
      return;
    }
    acc.sum += sum;
    acc.usable += usable;
    if (newestUsableMs !== null && (acc.newestUsableMs === null || newestUsableMs > acc.newestUsableMs)) acc.newestUsableMs = newestUsableMs;
    if (newestMs > acc.newestMs) acc.newestMs = newestMs;
  }

  /** The steps that have a reading, oldest first. */
  result(): StepAggregate[] {
    return [...this.steps.entries()]
      .sort(([a], [b]) => a - b)
      .map(([k, a]) => ({
        startMs: this.q.fromMs + k * this.q.stepMs,
        meanRh: a.usable > 0 ? a.sum / a.usable : null,
        usable: a.usable,
        newestUsableMs: a.newestUsableMs,
        newestMs: a.newestMs,
      }));
  }
}
