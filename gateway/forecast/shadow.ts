import type { ReadingStore } from '../store/store.ts';
import type { Forecaster, HistoryPoint } from './forecaster.ts';
import { historyFromSteps, UNUSABLE_FLAGS } from './scheduler.ts';

export interface ShadowOptions {
  /** Past base times forecast per sensor, one model step apart, newest first. Default 36 (6 h at 10-min steps). */
  basesPerSensor?: number;
}

export const DEFAULT_SHADOW_BASES = 36;

/** Both models scored on the same (sensor, base time, horizon) triples. */
export interface ShadowResult {
  /** Scored forecast points per model (the same for both). */
  samples: number;
  /** Horizon (s, as a string key) -> MAE in %RH. */
  current: Record<string, number>;
  candidate: Record<string, number>;
  /** Mean of the per-horizon MAEs, null when nothing could be scored. */
  currentMean: number | null;
  candidateMean: number | null;
  /** Set when the candidate threw or produced invalid output on real data: it must not run. */
  candidateFailure: string | null;
}

/**
 * Runs `current` and `candidate` side by side on the store's recent readings, as if each of
 * several past step boundaries were "now", and scores both against the truth that followed:
 * the mean of the usable readings in each target step, the rule ForecastLog scores live
 * forecasts with. Anchored on each sensor's newest reading, not the wall clock, so replayed or
 * delayed data is used as well. Both models must forecast the same step and horizons.
 *
 * The history is read as per-step aggregates (as the scheduler reads it), so a comparison costs
 * the same at one reading a second as at one a minute: bases + window + horizons steps per sensor.
 */
export async function shadowCompare(store: Pick<ReadingStore, 'sensors' | 'recent' | 'stepAggregates'>, current: Forecaster, candidate: Forecaster, opts: ShadowOptions = {}): Promise<ShadowResult> {
  const bases = opts.basesPerSensor ?? DEFAULT_SHADOW_BASES;
  const stepMs = current.info.stepS * 1000;
  const windowMs = (Math.max(current.info.windowSteps, candidate.info.windowSteps) + 2) * stepMs;
  const maxHorizonMs = Math.max(...current.info.horizonsS) * 1000;
  const errors = { current: new Map<number, number[]>(), candidate: new Map<number, number[]>() };
  for (const sensorId of store.sensors()) {
    const newestMs = store.recent(sensorId, 0, 1)[0]?.wallTimeMs;
    if (newestMs === undefined) continue;
    // The latest base whose longest horizon's target step has ended by the newest reading.
    const lastBase = Math.floor(newestMs / stepMs) * stepMs - maxHorizonMs;
    const fromMs = lastBase - (bases - 1) * stepMs - windowMs;
    const history = historyFromSteps(store.stepAggregates(sensorId, { fromMs, toMs: lastBase + maxHorizonMs, stepMs, unusableFlags: UNUSABLE_FLAGS }));
    for (let k = 0; k < bases; k++) {
      const base = lastBase - k * stepMs;
      const input = slice(history, base - windowMs, base);
      if (input.length === 0) break;
      const [c, d] = [await current.forecast(sensorId, input, base), await candidate.forecast(sensorId, input, base)];
      if (!('points' in d)) {
        if (d.reason === 'model_error' || d.reason === 'invalid_output') return failed(`${d.reason} on ${sensorId} at ${new Date(base).toISOString()}: ${d.detail}`);
        continue;
      }
      if (!('points' in c)) continue;
      for (const [i, p] of d.points.entries()) {
        const q = c.points[i];
        const target = base + p.horizonS * 1000;
        const truth = mean(slice(history, target - stepMs, target));
        if (q === undefined || truth === null) continue;
        push(errors.candidate, p.horizonS, Math.abs(p.rh - truth));
        push(errors.current, p.horizonS, Math.abs(q.rh - truth));
      }
    }
  }
  const current_ = summary(errors.current);
  const candidate_ = summary(errors.candidate);
  return { samples: current_.n, current: current_.mae, candidate: candidate_.mae, currentMean: current_.mean, candidateMean: candidate_.mean, candidateFailure: null };
}

function failed(why: string): ShadowResult {
  return { samples: 0, current: {}, candidate: {}, currentMean: null, candidateMean: null, candidateFailure: why };
}

/** Points with fromMs <= tMs < toMs of a history sorted by time (binary search on both ends). */
function slice(history: HistoryPoint[], fromMs: number, toMs: number): HistoryPoint[] {
  return history.slice(lowerBound(history, fromMs), lowerBound(history, toMs));
}

function lowerBound(history: HistoryPoint[], tMs: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (history[mid]!.tMs < tMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Mean of the usable points (a step's aggregate, or none), leaving out faulty markers. */
function mean(points: HistoryPoint[]): number | null {
  const usable = points.filter((p) => !p.faulty);
  return usable.length === 0 ? null : usable.reduce((s, p) => s + p.rh, 0) / usable.length;
}

function push(m: Map<number, number[]>, horizonS: number, err: number): void {
  const list = m.get(horizonS);
  if (list) list.push(err);
  else m.set(horizonS, [err]);
}

function summary(m: Map<number, number[]>): { n: number; mae: Record<string, number>; mean: number | null } {
  const mae: Record<string, number> = {};
  let n = 0;
  for (const [h, errs] of [...m].sort((a, b) => a[0] - b[0])) {
    mae[String(h)] = errs.reduce((s, e) => s + e, 0) / errs.length;
    n += errs.length;
  }
  const values = Object.values(mae);
  return { n, mae, mean: values.length === 0 ? null : values.reduce((s, v) => s + v, 0) / values.length };
}
