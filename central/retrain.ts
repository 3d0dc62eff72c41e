import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../gateway/clock.ts';
import type { CsvSeries } from '../models/csv.ts';
import { decodeModel, describeModel, encodeModel } from '../models/onnx-file.ts';
import type { RidgeWeights } from '../models/reference.ts';
import { buildRidgeModel, readRidgeWeights } from '../models/ridge-onnx.ts';
import { buildSamples, toStepSeries } from '../models/series.ts';
import { evaluateWeights, trainRidge, type TrainOptions } from '../models/train.ts';
import type { NeuralOptions } from '../models/train-neural.ts';
import { buildFeatureModel, FEATURE_GRAPH_NAMES, readFeatureWeights } from '../models/feature-onnx.ts';
import { evaluateFeatureWeights, trainFeatureRidge } from '../models/train-features.ts';
import type { ModelContract } from '../models/contract.ts';
import type { ModelParts } from '../models/onnx-file.ts';
import type { FeatureRidgeWeights } from '../models/feature-ridge.ts';
import type { ModelRegistry } from './registry.ts';
import type { CentralStorage } from './storage/storage.ts';

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
}

export type CandidateKind = 'ensemble' | 'boosted' | 'feature' | 'ridge';

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
  const runs: RunRecord[] = [];
  for (const { gatewayId, sensorId } of await o.storage.sensors()) {
    const run = await retrainOne(o, gatewayId, sensorId);
    fs.mkdirSync(path.dirname(o.runsFile), { recursive: true });
    fs.appendFileSync(o.runsFile, `${JSON.stringify(run)}\n`);
    runs.push(run);
  }
  return runs;
}

async function retrainOne(o: RetrainOptions, gatewayId: string, sensorId: string): Promise<RunRecord> {
  const atMs = o.clock.now();
  const holdoutFraction = o.holdoutFraction ?? 0.15;
  const promotionMargin = o.promotionMargin ?? 0.02;
  const readings = (await o.storage.readings(gatewayId, sensorId, 0, Number.MAX_SAFE_INTEGER, o.maxReadings ?? 1_000_000)).filter((r) => r.rh !== null);
  const csv = toCsv(readings, `central:${gatewayId}/${sensorId}`);
  const stepS = o.train?.stepS ?? 600;
  const kind = o.kind ?? 'ensemble';
  const run: RunRecord = {
    runId: `${gatewayId}-${sensorId}-${atMs}`,
    atMs,
    gatewayId,
    sensorId,
    codeVersion: codeVersion(),
    params: { kind, stepS, windowSteps: o.train?.windowSteps ?? 144, horizonsS: o.train?.horizonsS ?? [], holdoutFraction, promotionMargin },
    data: { readings: csv.timesMs.length, fromMs: csv.timesMs[0] ?? 0, toMs: csv.timesMs.at(-1) ?? 0, trainedUntilMs: 0 },
    candidate: null,
    production: null,
    decision: 'failed',
  };
  try {
    const series = toStepSeries(csv, stepS, o.train?.maxFillSteps ?? 3);
    const n = series.raw.length;
    const cut = Math.floor(n * (1 - holdoutFraction));
    const trainedUntilMs = series.startMs + cut * series.stepMs;
    run.data.trainedUntilMs = trainedUntilMs;
    const trainCsv = sliceBefore(csv, trainedUntilMs);
    const version = `${gatewayId}-${sensorId}-${new Date(atMs).toISOString().replace(/[:.]/g, '')}`;
    const trainOpts = { ...o.train, modelVersion: version, now: () => atMs };
    const holdout = (windowSteps: number, horizonsS: number[], stepS_: number) =>
      buildSamples(series, { windowSteps, horizonSteps: horizonsS.map((h) => h / stepS_), mode: 'delta', fromAnchor: cut, targetLimit: n, constant: true });
    let c: ModelContract;
    let parts: ModelParts;
    let candidateScore: { holdoutMae: Record<string, number>; meanMae: number };
    if (kind === 'ridge') {
      const result = trainRidge(trainCsv, trainOpts);
      c = result.contract;
      parts = buildRidgeModel(result.weights, c);
      candidateScore = score(result.weights, holdout(c.windowSteps, c.horizonsS, c.stepS), c.horizonsS);
    } else {
      const result = trainFeatureRidge(trainCsv, { ...trainOpts, boost: kind === 'boosted' || kind === 'ensemble', neural: kind === 'ensemble' && (o.neural ?? true) });
      c = result.contract;
      parts = buildFeatureModel(result.weights, c);
      candidateScore = scoreFeature(result.weights, series, c.windowSteps, cut, n, c.horizonsS);
    }
    run.params = { kind, stepS: c.stepS, windowSteps: c.windowSteps, horizonsS: c.horizonsS, holdoutFraction, promotionMargin };
    run.candidate = { version, ...candidateScore };
    const prod = o.registry.production();
    if (prod !== null) {
      const model = decodeModel(o.registry.artifact(prod.version)!);
      const pc = describeModel(model).contract;
      // Scored on the same holdout only when it forecasts the same steps; otherwise the comparison is void.
      if (pc && pc.stepS === c.stepS && pc.horizonsS.join(',') === c.horizonsS.join(',')) {
        // The shipped model is an ensemble feature model (models/feature-onnx.ts); older ones are boosted, feature or plain delta ridges.
        run.production =
          FEATURE_GRAPH_NAMES.has(model.graph?.name ?? '')
            ? { version: prod.version, ...scoreFeature(readFeatureWeights(model, pc), series, pc.windowSteps, cut, n, c.horizonsS) }
            : { version: prod.version, ...score(readRidgeWeights(model, pc.windowSteps, pc.horizonsS.length), holdout(pc.windowSteps, c.horizonsS, c.stepS), c.horizonsS) };
      }
    }
    const better = prod === null || (run.production !== null && run.candidate.meanMae < run.production.meanMae * (1 - promotionMargin));
    const metrics = Object.fromEntries(Object.entries(run.candidate.holdoutMae).map(([h, v]) => [`mae_${h}`, v]));
    o.registry.addCandidate(encodeModel(parts), c, metrics, o.signingKey, atMs);
    if (better) o.registry.promote(version, atMs);
    else o.registry.archive(version, atMs);
    run.decision = better ? 'promoted' : 'archived';
  } catch (err) {
    run.error = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`;
  }
  return run;
}

function scoreFeature(
  w: FeatureRidgeWeights,
  series: ReturnType<typeof toStepSeries>,
  windowSteps: number,
  cut: number,
  n: number,
  horizonsS: number[],
): { holdoutMae: Record<string, number>; meanMae: number } {
  const samples = buildSamples(series, { windowSteps, horizonSteps: horizonsS.map((h) => h / w.stepS), mode: 'level', fromAnchor: cut, targetLimit: n });
  if (samples.n === 0) throw Object.assign(new Error('no usable holdout windows'), { code: 'TRAINING_FAILED' });
  return summarise(evaluateFeatureWeights(w, samples, horizonsS));
}

function summarise(report: ReturnType<typeof evaluateWeights>): { holdoutMae: Record<string, number>; meanMae: number } {
  const holdoutMae = Object.fromEntries(report.map((r) => [String(r.horizon_s), Number(r.mae.model.toFixed(4))]));
  return { holdoutMae, meanMae: report.reduce((sum, r) => sum + r.mae.model, 0) / report.length };
}

function score(w: RidgeWeights, samples: ReturnType<typeof buildSamples>, horizonsS: number[]): { holdoutMae: Record<string, number>; meanMae: number } {
  if (samples.n === 0) throw Object.assign(new Error('no usable holdout windows'), { code: 'TRAINING_FAILED' });
  return summarise(evaluateWeights(w, samples, horizonsS));
}

/** Readings as the trainer's series: wall times (UTC read as naive time), strictly increasing. */
function toCsv(readings: ReadonlyArray<{ wallTimeMs: number; rh: number | null }>, file: string): CsvSeries {
  const sorted = [...readings].sort((a, b) => a.wallTimeMs - b.wallTimeMs);
  const timesMs: number[] = [];
  const values: (number | null)[] = [];
  for (const r of sorted) {
    if (timesMs.length > 0 && r.wallTimeMs <= timesMs[timesMs.length - 1]!) continue;
    timesMs.push(r.wallTimeMs);
    values.push(r.rh);
  }
  return { file, column: 'rh', timesMs, values };
}

function sliceBefore(csv: CsvSeries, endMs: number): CsvSeries {
  const k = csv.timesMs.findIndex((t) => t >= endMs);
  const end = k === -1 ? csv.timesMs.length : k;
  return { ...csv, timesMs: csv.timesMs.slice(0, end), values: csv.values.slice(0, end) };
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
