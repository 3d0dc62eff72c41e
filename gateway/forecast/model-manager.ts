import path from 'node:path';
import type { Clock, TimerHandle } from '../clock.ts';
import type { ReadingStore } from '../store/store.ts';
import type { Forecast } from '../types.ts';
import type { HorizonError } from './forecast-log.ts';
import type { Forecaster, HistoryPoint, ModelInfo, NoForecast } from './forecaster.ts';
import { shadowCompare, type ShadowOptions } from './shadow.ts';

/** What happened to a model, reported to the central server (POST /v1/reports `outcome`). */
export type ModelOutcome =
  | 'promoted' // not worse than the running model in shadow: now forecasting
  | 'promoted_unshadowed' // no local data to compare on: promoted on the central server's holdout evidence, live checks guard it
  | 'refused_worse_in_shadow'
  | 'refused_shadow_failed' // threw or produced NaN / out-of-range values on local data
  | 'refused_incompatible' // another step or other horizons than the running model (scoring and alerts are built for those)
  | 'refused_load_failed'
  | 'already_running' // the offered version is the one forecasting (e.g. the first pull of the shipped model)
  | 'rolled_back_error'
  | 'rolled_back_invalid_output'
  | 'rolled_back_live_error' // its live error became worse than the previous model's by liveMargin
  | 'kept'; // probation ended without a rollback

export interface ModelEvent {
  outcome: ModelOutcome;
  version: string;
  /** The model forecasting before (promotion) or after (rollback) this event. */
  otherVersion: string;
  detail: string;
  /** MAE per horizon (s as string key) backing the decision, when there is one. */
  maePerHorizon?: Record<string, number>;
}

/** Live error of a model's scored forecasts (ForecastLog.modelError). */
export interface LiveErrorSource {
  modelError(modelVersion: string, sinceTargetMs: number): HorizonError[];
}

/** Where a swap waits for the running forecast cycle to end (ForecastScheduler.betweenCycles). */
export interface SwapGate {
  betweenCycles(fn: () => void): Promise<void>;
}

export interface ModelManagerOptions {
  initial: Forecaster;
  /**
   * The file at forecast.modelPath: a model loaded from it is "local", any other "production"
   * (after a restart, `initial` may be a model promoted before it). Default: `initial`'s path.
   */
  localPath?: string;
  /** Opens a verified model file (OnnxForecaster.load, wrapped for metrics). */
  load: (file: string) => Promise<Forecaster>;
  store: Pick<ReadingStore, 'sensors' | 'recent' | 'stepAggregates'>;
  clock: Clock;
  /** Late-bound: the scheduler is built on top of this manager's forecaster. Null = swap at once. */
  gate: () => SwapGate | null;
  /** Null when forecasts are not scored (no live rollback then, only on errors). */
  liveError: () => LiveErrorSource | null;
  /** Outcome reports (to the central server); failures are the reporter's to swallow. */
  report: (event: ModelEvent) => Promise<void>;
  /** The candidate is refused when its shadow mean MAE exceeds the running model's by this fraction. Default 0 (not worse). */
  shadowTolerance?: number;
  /** Roll back when the live mean MAE exceeds the previous model's by this fraction. Default 0.1. */
  liveMargin?: number;
  /** How long a promoted model stays on probation (previous model kept loaded for rollback), ms. Default 86 400 000. */
  probationMs?: number;
  /** How often live error is compared during probation, ms. Default 60 000. */
  liveCheckIntervalMs?: number;
  /** Scored forecast points the new model needs before its live error counts. Default 36. */
  minLiveScored?: number;
  /**
   * Shadow points (forecast points scored against local truth) a comparison needs to count;
   * fewer is no evidence, and the model is promoted as unshadowed. Default 36.
   */
  minShadowSamples?: number;
  /** Window of the previous model's live error taken as its baseline at promotion, ms. Default 86 400 000. */
  baselineWindowMs?: number;
  shadow?: ShadowOptions;
  /**
   * A probation a restart interrupted (`initial` is the promoted model): the previous model,
   * loaded again, and when the promotion was. Probation resumes for what is left of probationMs,
   * its baseline taken as for an unshadowed promotion.
   */
  resumeProbation?: { previous: Forecaster; sinceMs: number };
}

/** Where a probation stands, for recording across restarts (ModelManager.probationState). */
export interface ProbationState {
  previousPath: string;
  previousVersion: string;
  sinceMs: number;
}

interface Probation {
  previous: Forecaster;
  sinceMs: number;
  /** The previous model's MAE per horizon to beat (live before promotion, else shadow); empty when unknown. */
  baseline: Record<string, number>;
  /** A shadow comparison on the data since promotion, run once when there was no baseline. */
  rechecking: boolean;
}

/**
 * Owns the model the gateway forecasts with. `forecaster` is a stable holder the scheduler
 * uses; offer() takes a verified model file through shadow, promotion and probation:
 * - shadow: both models forecast past base times of the store's recent readings
 *   (gateway/forecast/shadow.ts); the candidate is promoted only if it is not worse;
 * - promotion swaps the holder between two forecast cycles (SwapGate), so no cycle is skipped
 *   or split across models; the previous model stays loaded during probation (its file stays
 *   in the models folder for good);
 * - rollback, at once, when the new model throws or returns invalid output (that very call is
 *   answered by the previous model, so no forecast is lost), or when its live error (ForecastLog)
 *   becomes worse than the previous model's by liveMargin.
 * Every outcome is reported. offer() never rejects; offers run one at a time.
 */
export type ModelStage = 'local' | 'probation' | 'production';

export class ModelManager {
  private active: Forecaster;
  private probation: Probation | null = null;
  private timer: TimerHandle | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly o: Required<Omit<ModelManagerOptions, 'shadow' | 'localPath' | 'resumeProbation'>> & Pick<ModelManagerOptions, 'shadow'>;
  /** The file at forecast.modelPath, resolved (stage). */
  private readonly localPath: string;
  /** The holder handed to the scheduler: always forecasts with the active model. */
  readonly forecaster: Forecaster;

  constructor(options: ModelManagerOptions) {
    this.o = { shadowTolerance: 0, liveMargin: 0.1, probationMs: 86_400_000, liveCheckIntervalMs: 60_000, minLiveScored: 36, minShadowSamples: 36, baselineWindowMs: 86_400_000, ...options };
    this.localPath = path.resolve(options.localPath ?? options.initial.info.path);
    for (const key of ['shadowTolerance', 'liveMargin'] as const) if (!(this.o[key] >= 0)) throw new RangeError(`model manager option ${key} must be >= 0 (got ${this.o[key]})`);
    for (const key of ['probationMs', 'liveCheckIntervalMs', 'minLiveScored', 'minShadowSamples', 'baselineWindowMs'] as const) {
      if (!(this.o[key] >= 1)) throw new RangeError(`model manager option ${key} must be >= 1 (got ${this.o[key]})`);
    }
    this.active = options.initial;
    const resumed = options.resumeProbation;
    if (resumed && this.o.clock.now() - resumed.sinceMs < this.o.probationMs) {
      this.probation = { previous: resumed.previous, sinceMs: resumed.sinceMs, baseline: {}, rechecking: false };
      this.startTimer();
    } else if (resumed) {
      void resumed.previous.close();
    }
    const self = this;
    this.forecaster = {
      get info(): ModelInfo {
        return self.active.info;
      },
      forecast: (sensorId, history, nowMs) => this.forecast(sensorId, history, nowMs),
      close: () => this.close(),
    };
  }

  /** The version forecasting now. */
  get version(): string {
    return this.active.info.version;
  }

  /** True while a promoted model can still be rolled back. */
  get onProbation(): boolean {
    return this.probation !== null;
  }

  /** The probation in progress (the model to roll back to, and since when), or null. */
  probationState(): ProbationState | null {
    const p = this.probation;
    return p === null ? null : { previousPath: p.previous.info.path, previousVersion: p.previous.info.version, sinceMs: p.sinceMs };
  }

  /**
   * Where the forecasting model stands: "local" while it is the file at forecast.modelPath,
   * "probation" while a promoted model can still be rolled back, "production" for a promoted
   * model past probation (also after a restart that reloaded it).
   */
  get stage(): ModelStage {
    if (this.probation !== null) return 'probation';
    return path.resolve(this.active.info.path) === this.localPath ? 'local' : 'production';
  }

  /** Shadows, then promotes or refuses the verified model in `file`. Resolves with the outcome. */
  offer(file: string): Promise<ModelEvent> {
    const run = this.queue.then(() => this.evaluate(file));
    this.queue = run.catch(() => undefined);
    return this.track(run);
  }

  /** Stops the live checks, waits for offers and reports in flight, closes every loaded model. */
  async close(): Promise<void> {
    this.stopTimer();
    await this.queue;
    await Promise.allSettled([...this.pending]);
    const previous = this.probation?.previous;
    this.probation = null;
    await Promise.allSettled([this.active.close(), previous?.close()]);
  }

  private async forecast(sensorId: string, history: HistoryPoint[], nowMs: number): Promise<Forecast | NoForecast> {
    const model = this.active;
    const result = await model.forecast(sensorId, history, nowMs);
    const p = this.probation;
    if ('points' in result || p === null || model !== this.active || (result.reason !== 'model_error' && result.reason !== 'invalid_output')) return result;
    // The previous model answers this very call, so the cycle keeps its forecast.
    this.rollBack(result.reason === 'model_error' ? 'rolled_back_error' : 'rolled_back_invalid_output', `${sensorId}: ${result.detail}`);
    return p.previous.forecast(sensorId, history, nowMs);
  }

  private async evaluate(file: string): Promise<ModelEvent> {
    const current = this.active;
    let candidate: Forecaster;
    try {
      candidate = await this.o.load(file);
    } catch (err) {
      return this.emit({ outcome: 'refused_load_failed', version: file, otherVersion: current.info.version, detail: (err as Error).message });
    }
    const event = (outcome: ModelOutcome, detail: string, maePerHorizon?: Record<string, number>): ModelEvent => ({ outcome, version: candidate.info.version, otherVersion: current.info.version, detail, ...(maePerHorizon ? { maePerHorizon } : {}) });
    const a = current.info;
    const b = candidate.info;
    if (a.version === b.version) {
      await candidate.close();
      return this.emit(event('already_running', `${b.version} is the model forecasting now`));
    }
    if (a.stepS !== b.stepS || a.horizonsS.join(',') !== b.horizonsS.join(',')) {
      await candidate.close();
      return this.emit(event('refused_incompatible', `step ${b.stepS} s / horizons ${b.horizonsS.join(',')} differ from the running model's ${a.stepS} s / ${a.horizonsS.join(',')}`));
    }
    let shadow: Awaited<ReturnType<typeof shadowCompare>>;
    try {
      shadow = await shadowCompare(this.o.store, current, candidate, this.o.shadow);
    } catch (err) {
      // The store failed (closing, disk error): no evidence, so no promotion; the next pull retries.
      await candidate.close();
      return this.emit(event('refused_shadow_failed', `shadow comparison failed: ${(err as Error).message}`));
    }
    if (shadow.candidateFailure !== null) {
      await candidate.close();
      return this.emit(event('refused_shadow_failed', shadow.candidateFailure));
    }
    // A handful of points is no evidence either way: below minShadowSamples the model goes on as unshadowed.
    const evidence = shadow.samples >= this.o.minShadowSamples;
    const [cur, cand] = evidence ? [shadow.currentMean, shadow.candidateMean] : [null, null];
    if (cur !== null && cand !== null && cand > cur * (1 + this.o.shadowTolerance)) {
      await candidate.close();
      return this.emit(event('refused_worse_in_shadow', `shadow MAE ${cand.toFixed(3)} %RH vs ${cur.toFixed(3)} for ${a.version} over ${shadow.samples} points`, shadow.candidate));
    }
    await this.promote(candidate, evidence ? shadow.current : {});
    if (cur === null || cand === null) {
      return this.emit(event('promoted_unshadowed', `${shadow.samples} shadow points on recent local data (${this.o.minShadowSamples} needed to compare); live checks guard the model`));
    }
    return this.emit(event('promoted', `shadow MAE ${cand.toFixed(3)} %RH vs ${cur.toFixed(3)} for ${a.version} over ${shadow.samples} points`, shadow.candidate));
  }

  private async promote(candidate: Forecaster, shadowBaseline: Record<string, number>): Promise<void> {
    const now = this.o.clock.now();
    const live = perHorizon(this.liveRows(this.active.info.version, now - this.o.baselineWindowMs), this.o.minLiveScored);
    const swap = (): void => {
      const older = this.probation?.previous;
      this.probation = { previous: this.active, sinceMs: now, baseline: Object.keys(live).length > 0 ? live : shadowBaseline, rechecking: false };
      this.active = candidate;
      if (older) this.background(older.close());
    };
    const gate = this.o.gate();
    if (gate) await gate.betweenCycles(swap);
    else swap();
    this.startTimer();
  }

  private rollBack(outcome: ModelOutcome, detail: string, maePerHorizon?: Record<string, number>): void {
    const p = this.probation;
    if (!p) return;
    const failed = this.active;
    this.active = p.previous;
    this.probation = null;
    this.stopTimer();
    this.background(failed.close());
    this.background(this.emit({ outcome, version: failed.info.version, otherVersion: p.previous.info.version, detail, ...(maePerHorizon ? { maePerHorizon } : {}) }));
  }

  /** One probation check: roll back on a worse live error, or end probation when it is over. */
  checkLive(): void {
    const p = this.probation;
    if (!p) return;
    const live = perHorizon(this.liveRows(this.active.info.version, p.sinceMs), this.o.minLiveScored);
    if (Object.keys(p.baseline).length === 0 && Object.keys(live).length > 0 && !p.rechecking) {
      // Promoted without a baseline (no live error of the previous model, no shadow evidence):
      // now that truths have arrived since, both models (the previous one is still loaded) are
      // compared on that data, and the live checks go on against the previous model's result.
      p.rechecking = true;
      this.background(this.recheck(p));
    }
    // Compared on the horizons both have: short horizons are scored first and err less.
    const common = Object.keys(live).filter((h) => p.baseline[h] !== undefined);
    const mae = common.length === 0 ? null : mean(common.map((h) => live[h]!));
    const before = common.length === 0 ? null : mean(common.map((h) => p.baseline[h]!));
    if (mae !== null && before !== null && mae > before * (1 + this.o.liveMargin)) {
      return this.rollBack('rolled_back_live_error', `live MAE ${mae.toFixed(3)} %RH vs ${before.toFixed(3)} for ${p.previous.info.version} (margin ${this.o.liveMargin})`, live);
    }
    if (this.o.clock.now() - p.sinceMs >= this.o.probationMs) {
      this.probation = null;
      this.stopTimer();
      this.background(p.previous.close());
      const detail = mae === null ? 'probation over without a comparison (no live error of either model, no shadow evidence)' : `probation over; live MAE ${mae.toFixed(3)} %RH vs ${before!.toFixed(3)}`;
      this.background(this.emit({ outcome: 'kept', version: this.active.info.version, otherVersion: p.previous.info.version, detail }));
    }
  }

  private async recheck(p: Probation): Promise<void> {
    try {
      const shadow = await shadowCompare(this.o.store, p.previous, this.active, this.o.shadow);
      if (this.probation !== p || shadow.candidateFailure !== null || shadow.samples < this.o.minShadowSamples) return;
      p.baseline = shadow.current;
      this.checkLive();
    } catch {
      // The store is busy or closing: the model stays on probation without a baseline, as before.
    } finally {
      // Another try at the next check when this one found too little data.
      if (this.probation === p && Object.keys(p.baseline).length === 0) p.rechecking = false;
    }
  }

  /** The live error rows, or none when scoring is off or its database is busy (the next check retries). */
  private liveRows(version: string, sinceMs: number): HorizonError[] {
    try {
      return this.o.liveError()?.modelError(version, sinceMs) ?? [];
    } catch {
      return [];
    }
  }

  private startTimer(): void {
    this.stopTimer();
    this.timer = this.o.clock.setInterval(() => this.checkLive(), this.o.liveCheckIntervalMs);
    this.timer.unref?.();
  }

  private stopTimer(): void {
    if (this.timer) this.o.clock.clearInterval(this.timer);
    this.timer = null;
  }

  private async emit(event: ModelEvent): Promise<ModelEvent> {
    await this.o.report(event).catch(() => undefined);
    return event;
  }

  /** Closes and reports that nobody awaits now; close() waits for them. Errors are already routed. */
  private background(p: Promise<unknown>): void {
    void this.track(p);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const tracked = p.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    tracked.catch(() => undefined);
    return tracked;
  }
}

/** MAE per horizon (s as string key); empty when fewer than minScored points were scored in all. */
function perHorizon(rows: HorizonError[], minScored: number): Record<string, number> {
  const scored = rows.filter((r) => r.mae !== null && r.n > 0);
  if (scored.reduce((s, r) => s + r.n, 0) < minScored) return {};
  return Object.fromEntries(scored.map((r) => [String(r.horizon_s), r.mae!]));
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
