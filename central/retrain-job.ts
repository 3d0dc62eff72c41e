import { fork } from 'node:child_process';
import path from 'node:path';
import type { CsvSeries } from '../models/csv.ts';
import type { ModelContract } from '../models/contract.ts';
import { buildFeatureModel, FEATURE_GRAPH_NAMES, readFeatureWeights } from '../models/feature-onnx.ts';
import type { FeatureRidgeWeights } from '../models/feature-ridge.ts';
import { decodeModel, describeModel, encodeModel } from '../models/onnx-file.ts';
import type { ModelParts } from '../models/onnx-file.ts';
import type { RidgeWeights } from '../models/reference.ts';
import { buildRidgeModel, readRidgeWeights } from '../models/ridge-onnx.ts';
import { buildSamples, toStepSeries } from '../models/series.ts';
import { evaluateFeatureWeights, kindStages, trainFeatureRidge } from '../models/train-features.ts';
import type { ModelKind } from '../models/train-features.ts';
import type { NeuralOptions } from '../models/train-neural.ts';
import { evaluateWeights, trainRidge } from '../models/train.ts';
import type { TrainOptions } from '../models/train.ts';

/**
 * The CPU-bound part of one retraining run (train the candidate, score it and the production
 * model on the holdout), as plain data in and out so it can run in a child process: the
 * ensemble kind trains for minutes, and the central server must keep taking synced data and
 * serving models meanwhile (retrain.ts runs every job through runRetrainJob).
 */
export type CandidateKind = ModelKind;

export interface RetrainJob {
  csv: CsvSeries;
  atMs: number;
  version: string;
  kind: CandidateKind;
  /** Trainer options without `now` (a function does not cross the process boundary; atMs is the training time). */
  train: Omit<TrainOptions, 'now' | 'modelVersion'>;
  neural?: Partial<NeuralOptions>;
  holdoutFraction: number;
  production: { version: string; bytes: Uint8Array } | null;
}

export interface Score {
  holdoutMae: Record<string, number>;
  meanMae: number;
}

export interface RetrainJobResult {
  trainedUntilMs: number;
  contract: ModelContract;
  candidate: { bytes: Uint8Array } & Score;
  /** null when there is no production model or it forecasts other steps (no fair comparison). */
  production: ({ version: string } & Score) | null;
  /** The process that trained (the tests check it is not the server's). */
  pid: number;
}

export function trainAndScore(job: RetrainJob): RetrainJobResult {
  const stepS = job.train.stepS ?? 600;
  const series = toStepSeries(job.csv, stepS, job.train.maxFillSteps ?? 3);
  const n = series.raw.length;
  const cut = Math.floor(n * (1 - job.holdoutFraction));
  const trainedUntilMs = series.startMs + cut * series.stepMs;
  const trainCsv = sliceBefore(job.csv, trainedUntilMs);
  const trainOpts = { ...job.train, modelVersion: job.version, now: () => job.atMs };
  const holdout = (windowSteps: number, horizonsS: number[], stepS_: number) =>
    buildSamples(series, { windowSteps, horizonSteps: horizonsS.map((h) => h / stepS_), mode: 'delta', fromAnchor: cut, targetLimit: n, constant: true });
  let c: ModelContract;
  let parts: ModelParts;
  let candidate: Score;
  if (job.kind === 'ridge') {
    const result = trainRidge(trainCsv, trainOpts);
    c = result.contract;
    parts = buildRidgeModel(result.weights, c);
    candidate = score(result.weights, holdout(c.windowSteps, c.horizonsS, c.stepS), c.horizonsS);
  } else {
    const result = trainFeatureRidge(trainCsv, { ...trainOpts, ...kindStages(job.kind, job.neural) });
    c = result.contract;
    parts = buildFeatureModel(result.weights, c);
    candidate = scoreFeature(result.weights, series, c.windowSteps, cut, n, c.horizonsS);
  }
  let production: RetrainJobResult['production'] = null;
  if (job.production) {
    const model = decodeModel(job.production.bytes);
    const pc = describeModel(model).contract;
    // Scored on the same holdout only when it forecasts the same steps; otherwise the comparison is void.
    if (pc && pc.stepS === c.stepS && pc.horizonsS.join(',') === c.horizonsS.join(',')) {
      // The shipped model is an ensemble feature model (models/feature-onnx.ts); older ones are boosted, feature or plain delta ridges.
      production = FEATURE_GRAPH_NAMES.has(model.graph?.name ?? '')
        ? { version: job.production.version, ...scoreFeature(readFeatureWeights(model, pc), series, pc.windowSteps, cut, n, c.horizonsS) }
        : { version: job.production.version, ...score(readRidgeWeights(model, pc.windowSteps, pc.horizonsS.length), holdout(pc.windowSteps, c.horizonsS, c.stepS), c.horizonsS) };
    }
  }
  return { trainedUntilMs, contract: c, candidate: { bytes: encodeModel(parts), ...candidate }, production, pid: process.pid };
}

/** Where trainAndScore failed: its error code (ModelError's, or `error`) and message. */
export interface JobFailure {
  code: string;
  message: string;
}

type JobReply = { ok: RetrainJobResult } | { failed: JobFailure };

const CHILD = path.join(import.meta.dirname, 'retrain-job-main.ts');
const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** Default bound of one job (retrainTimeoutMs in the central config). */
export const DEFAULT_JOB_TIMEOUT_MS = 3_600_000;

/**
 * trainAndScore in a child process (node with tsx, as the server itself runs), so the caller's
 * event loop stays free. Rejects with an Error carrying the job's `code` when it failed,
 * `TIMEOUT` when it ran longer than `timeoutMs` (the child is killed), `ABORTED` when `signal`
 * fired (likewise), or `JOB_CRASHED` when the child died without answering.
 */
export function runRetrainJob(job: RetrainJob, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<RetrainJobResult> {
  const { signal, timeoutMs = DEFAULT_JOB_TIMEOUT_MS } = opts;
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(signal ? { signal } : {}) });
    let reply: JobReply | null = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('message', (m) => {
      reply = m as JobReply;
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      if ((err as { name?: string }).name === 'AbortError') reject(Object.assign(new Error('retraining stopped: the server is shutting down'), { code: 'ABORTED' }));
      else reject(Object.assign(new Error(`retraining process could not run: ${err.message}`), { code: 'JOB_CRASHED' }));
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      const r = reply as JobReply | null;
      if (r && 'ok' in r) resolve(r.ok);
      else if (r && 'failed' in r) reject(Object.assign(new Error(r.failed.message), { code: r.failed.code }));
      else if (timedOut) reject(Object.assign(new Error(`retraining took longer than ${timeoutMs} ms (retrainTimeoutMs) and was killed`), { code: 'TIMEOUT' }));
      else if (!signal?.aborted) reject(Object.assign(new Error(`retraining process exited (${sig ?? `code ${code}`}) without a result`), { code: 'JOB_CRASHED' }));
    });
    child.send(job);
  });
}

function scoreFeature(w: FeatureRidgeWeights, series: ReturnType<typeof toStepSeries>, windowSteps: number, cut: number, n: number, horizonsS: number[]): Score {
  const samples = buildSamples(series, { windowSteps, horizonSteps: horizonsS.map((h) => h / w.stepS), mode: 'level', fromAnchor: cut, targetLimit: n });
  if (samples.n === 0) throw Object.assign(new Error('no usable holdout windows'), { code: 'TRAINING_FAILED' });
  return summarise(evaluateFeatureWeights(w, samples, horizonsS));
}

function summarise(report: ReturnType<typeof evaluateWeights>): Score {
  const holdoutMae = Object.fromEntries(report.map((r) => [String(r.horizon_s), Number(r.mae.model.toFixed(4))]));
  return { holdoutMae, meanMae: report.reduce((sum, r) => sum + r.mae.model, 0) / report.length };
}

function score(w: RidgeWeights, samples: ReturnType<typeof buildSamples>, horizonsS: number[]): Score {
  if (samples.n === 0) throw Object.assign(new Error('no usable holdout windows'), { code: 'TRAINING_FAILED' });
  return summarise(evaluateWeights(w, samples, horizonsS));
}

function sliceBefore(csv: CsvSeries, endMs: number): CsvSeries {
  const k = csv.timesMs.findIndex((t) => t >= endMs);
  const end = k === -1 ? csv.timesMs.length : k;
  return { ...csv, timesMs: csv.timesMs.slice(0, end), values: csv.values.slice(0, end) };
}
