import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../gateway/clock.ts';
import type { CsvSeries } from '../models/csv.ts';
import { FAULTY_FLAGS } from '../models/resample.ts';
import { NaiveClock } from '../models/time-zone.ts';
import type { TrainOptions } from '../models/train.ts';
import type { NeuralOptions } from '../models/train-neural.ts';
import { CentralError } from './errors.ts';
import type { ModelRegistry } from './registry.ts';
import { runRetrainJob } from './retrain-job.ts';
import type { CandidateKind } from './retrain-job.ts';
import type { CentralReading, CentralStorage } from './storage/storage.ts';

export interface RetrainOptions {
  storage: CentralStorage;
  registry: ModelRegistry;
  signingKey: KeyObject;
  clock: Clock;
  /** Where every run is appended as one JSON line (the run log, like MLflow tracking). */
  runsFile: string;
  /** Most recent fraction of each sensor's data held out for the comparison. Default 0.15. */
  holdoutFraction?: number;
  /** The candidate is promoted when its mean holdout MAE is below production's by this fraction. Default 0.02. */
  promotionMargin?: number;
  /** Trainer options (step, window, horizons...); default the shipped model's. */
  train?: TrainOptions;
  /**
   * Which model candidates are: `ensemble` (the shipped kind since v5, default: the boosted
   * model averaged per horizon with a small neural network), `boosted` (v4), `feature` (the v3
   * feature ridge) or `ridge` (the delta ridge). Candidates of a weaker kind than production
   * would rarely clear the promotion margin.
   */
  kind?: CandidateKind;
  /** The ensemble's neural network (penalties tried, seeds, epochs); default the shipped model's. */
  neural?: Partial<NeuralOptions>;
  /** Readings read per sensor, newest kept (bounds memory). Default 1 000 000. */
  maxReadings?: number;
  /** Aborting kills a training in progress (its run is recorded as failed, code ABORTED). */
  signal?: AbortSignal;
  /** Longest one sensor's training may take; then it is killed and its run fails with TIMEOUT. Default 1 h. */
  jobTimeoutMs?: number;
  /**
   * IANA zone whose local time of day the models learn (the gateways compute the time-of-day
   * input in their own TZ, so this should be the fleet's zone). Default: this process's TZ.
   */
  timeZone?: string;
}

export type { CandidateKind };

export interface RunRecord {
  runId: string;
  atMs: number;
  gatewayId: string;
  sensorId: string;
  codeVersion: string;
  params: { kind: CandidateKind; stepS: number; windowSteps: number; horizonsS: number[]; holdoutFraction: number; promotionMargin: number };
  data: { readings: number; fromMs: number; toMs: number; trainedUntilMs: number };
  candidate: { version: string; holdoutMae: Record<string, number>; meanMae: number } | null;
  production: { version: string; holdoutMae: Record<string, number>; meanMae: number } | null;
  decision: 'promoted' | 'archived' | 'failed';
  error?: string;
}

/**
 * One retraining pass: for each (gateway, sensor) with data, train a candidate with models/ on
 * all but the most recent `holdoutFraction` of its steps, score it and the production model on
 * that holdout (data the candidate never saw), register it, and promote it only if its mean MAE
 * beats production's by `promotionMargin`. Every run, failed ones included, is appended to runsFile.
 */
export async function retrainAll(o: RetrainOptions): Promise<RunRecord[]> {
  // One pass at a time across processes: the server's schedule and `central retrain` would
  // otherwise compare candidates with a production model the other is replacing.
  const lock = o.registry.retrainLock();
  if (!('release' in lock)) throw new CentralError('CENTRAL_RETRAIN_RUNNING', `a retraining pass is already running (process ${lock.heldBy}); try again when it has finished`);
  try {
    const runs: RunRecord[] = [];
    for (const { gatewayId, sensorId } of await o.storage.sensors()) {
      if (o.signal?.aborted) break;
      const run = await retrainOne(o, gatewayId, sensorId);
      fs.mkdirSync(path.dirname(o.runsFile), { recursive: true });
      fs.appendFileSync(o.runsFile, `${JSON.stringify(run)}\n`);
      runs.push(run);
    }
    return runs;
  } finally {
    lock.release();
  }
}

async function retrainOne(o: RetrainOptions, gatewayId: string, sensorId: string): Promise<RunRecord> {
  const atMs = o.clock.now();
  const holdoutFraction = o.holdoutFraction ?? 0.15;
  const promotionMargin = o.promotionMargin ?? 0.02;
  const readings = (await o.storage.readings(gatewayId, sensorId, 0, Number.MAX_SAFE_INTEGER, o.maxReadings ?? 1_000_000)).filter(trainable);
  const clock = new NaiveClock(o.timeZone);
  const csv = toCsv(readings, `central:${gatewayId}/${sensorId}`, clock);
  const stepS = o.train?.stepS ?? 600;
  const kind = o.kind ?? 'ensemble';
  const run: RunRecord = {
    runId: `${gatewayId}-${sensorId}-${atMs}`,
    atMs,
    gatewayId,
    sensorId,
    codeVersion: codeVersion(),
    params: { kind, stepS, windowSteps: o.train?.windowSteps ?? 144, horizonsS: o.train?.horizonsS ?? [], holdoutFraction, promotionMargin },
    data: { readings: csv.timesMs.length, ...wallTimeRange(readings), trainedUntilMs: 0 },
    candidate: null,
    production: null,
    decision: 'failed',
  };
  try {
    const version = `${gatewayId}-${sensorId}-${new Date(atMs).toISOString().replace(/[:.]/g, '')}`;
    const prod = o.registry.production();
    const production = prod === null ? null : { version: prod.version, bytes: o.registry.artifact(prod.version)! };
    // Trained in a child process: minutes of CPU that would otherwise stall ingest and model downloads.
    const { now: _now, modelVersion: _version, ...train } = o.train ?? {};
    const job = await runRetrainJob({ csv, atMs, version, kind, train, ...(o.neural ? { neural: o.neural } : {}), holdoutFraction, production }, { ...(o.signal ? { signal: o.signal } : {}), ...(o.jobTimeoutMs ? { timeoutMs: o.jobTimeoutMs } : {}) });
    const c = job.contract;
    // The job works in local (naive) time; the run log keeps instants.
    run.data.trainedUntilMs = job.trainedUntilMs - clock.offsetMs(job.trainedUntilMs);
    run.params = { kind, stepS: c.stepS, windowSteps: c.windowSteps, horizonsS: c.horizonsS, holdoutFraction, promotionMargin };
    run.candidate = { version, holdoutMae: job.candidate.holdoutMae, meanMae: job.candidate.meanMae };
    run.production = job.production;
    // An operator's `publish --promote` during the run replaces the model the candidate was compared with.
    const now = o.registry.production()?.version ?? null;
    if (now !== (prod?.version ?? null)) run.error = `production changed to ${now ?? 'none'} during the run; the candidate was compared with ${prod?.version ?? 'none'} and is archived`;
    const better = run.error === undefined && (prod === null || (run.production !== null && run.candidate.meanMae < run.production.meanMae * (1 - promotionMargin)));
    const metrics = Object.fromEntries(Object.entries(run.candidate.holdoutMae).map(([h, v]) => [`mae_${h}`, v]));
    o.registry.addCandidate(job.candidate.bytes, c, metrics, o.signingKey, atMs);
    if (better) o.registry.promote(version, atMs);
    else o.registry.archive(version, atMs);
    run.decision = better ? 'promoted' : 'archived';
  } catch (err) {
    run.error = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
  }
  return run;
}




type TimedReading = Pick<CentralReading, 'wallTimeMs' | 'rh' | 'quality'>;

/** A reading the trainer may learn from: it has RH and no flag that makes it faulty (models/csv.ts). */
export function trainable(r: TimedReading): boolean {
  return r.rh !== null && !r.quality.some((q) => (FAULTY_FLAGS as readonly string[]).includes(q));
}

function wallTimeRange(readings: readonly TimedReading[]): { fromMs: number; toMs: number } {
  if (readings.length === 0) return { fromMs: 0, toMs: 0 };
  let fromMs = Infinity;
  let toMs = -Infinity;
  for (const r of readings) {
    fromMs = Math.min(fromMs, r.wallTimeMs);
    toMs = Math.max(toMs, r.wallTimeMs);
  }
  return { fromMs, toMs };
}

/**
 * Readings as the trainer's series: wall times turned into local (naive) time in `clock`'s zone,
 * strictly increasing (the repeated hour when clocks go back keeps its first pass).
 */
export function toCsv(readings: readonly TimedReading[], file: string, clock: NaiveClock): CsvSeries {
  const sorted = [...readings].sort((a, b) => a.wallTimeMs - b.wallTimeMs);
  const timesMs: number[] = [];
  const values: (number | null)[] = [];
  for (const r of sorted) {
    const t = clock.naiveMs(r.wallTimeMs);
    if (timesMs.length > 0 && t <= timesMs[timesMs.length - 1]!) continue;
    timesMs.push(t);
    values.push(r.rh);
  }
  return { file, column: 'rh', timesMs, values };
}


let cachedVersion: string | null = null;
/** The git revision when run from a checkout, else the package version. */
export function codeVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  try {
    cachedVersion = `git:${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}`;
  } catch {
    const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    cachedVersion = `package:${pkg.version}`;
  }
  return cachedVersion;
}
