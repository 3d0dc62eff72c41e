import { Command, InvalidArgumentError } from 'commander';
import { readCsvColumn } from './csv.ts';
import type { CsvRejections } from './csv.ts';
import { ModelError } from './errors.ts';
import { evaluateModel } from './evaluate.ts';
import { decodeModel, readModelFile, writeModelFile } from './onnx-file.ts';
import { openSession } from './ort-run.ts';
import { buildRidgeModel, readRidgeWeights } from './ridge-onnx.ts';
import { maxForwardDiff } from './self-check.ts';
import type { ReferenceFn } from './self-check.ts';
import { buildSamples, toStepSeries, windowBatch } from './series.ts';
import { trainRidge } from './train.ts';
import type { TrainOptions } from './train.ts';
import { kindStages, MODEL_KINDS, trainFeatureRidge } from './train-features.ts';
import type { ModelKind } from './train-features.ts';
import { boostedHorizons, featureReferenceForward } from './feature-ridge.ts';
import { buildFeatureModel, FEATURE_GRAPH_NAMES, readFeatureWeights } from './feature-onnx.ts';
import { referenceForward } from './reference.ts';
import type { ModelContract } from './contract.ts';
import type { CsvSeries } from './csv.ts';
import type { ModelParts } from './onnx-file.ts';
import type { FeatureRidgeWeights } from './feature-ridge.ts';
import { checkFeatureGraph } from './graph-check.ts';
import { readFile } from 'node:fs/promises';

/**
 * `tsx models/cli.ts train|inspect|eval`: one JSON document on stdout, logs on stderr, exit 2
 * with a message naming what was wrong on bad input (exit codes: see the end of this file).
 */

/** Windows compared between onnxruntime and the reference after training. */
const SELF_CHECK_WINDOWS = 256;
/** Largest tolerated difference between onnxruntime and the reference, %RH. */
const SELF_CHECK_TOLERANCE = 1e-4;

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

function intArg(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

function horizonsArg(v: string): number[] {
  const list = v.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) throw new InvalidArgumentError(`--horizons-s must be comma-separated positive integer seconds, got "${v}"`);
  return list;
}

function kindArg(v: string): ModelKind {
  const kind = MODEL_KINDS.find((k) => k === v);
  if (kind === undefined) {
    const quoted = MODEL_KINDS.map((k) => `"${k}"`);
    throw new InvalidArgumentError(`--kind must be ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}, got "${v}"`);
  }
  return kind;
}

interface Trained {
  parts: ModelParts;
  contract: ModelContract;
  reference: ReferenceFn;
  /** Feature models: checked with their in-graph features too (graph-check.ts). */
  featureWeights?: FeatureRidgeWeights;
  summary: object;
}

function trainKind(kind: ModelKind, csv: CsvSeries, opts: TrainOptions): Trained {
  if (kind === 'ridge') {
    const r = trainRidge(csv, opts);
    log(`lambdas ${r.summary.lambdas.map((l) => l.toExponential(1)).join(' ')}`);
    return { parts: buildRidgeModel(r.weights, r.contract), contract: r.contract, reference: (x, t) => referenceForward(r.weights, x, t), summary: { kind, ...r.summary } };
  }
  const r = trainFeatureRidge(csv, { ...opts, ...kindStages(kind) });
  log(`alphas ${r.summary.alphas.join(' ')}`);
  return { parts: buildFeatureModel(r.weights, r.contract), contract: r.contract, reference: (x, t) => featureReferenceForward(r.weights, x, t), featureWeights: r.weights, summary: { kind, ...r.summary } };
}

/** Reads the CSV column, logging what was rejected. */
async function readData(o: { data: string; column: string; timeZone?: string }): Promise<CsvSeries> {
  log(`reading ${o.data} column ${o.column}`);
  const csv = await readCsvColumn(o.data, o.column, o.timeZone === undefined ? {} : { timeZone: o.timeZone });
  if (csv.rejected) log(`rejected: ${describeRejections(csv.rejected)}`);
  return csv;
}

function describeRejections(r: CsvRejections): string {
  return [`${r.outOfRange} outside 0..100 %RH`, `${r.flagged} flagged faulty`, `${r.repeatedLocalTime} in a repeated local hour`].join(', ');
}

/** `rejected` as the JSON output shows it (snake case, like the rest of it). */
function rejectedJson(csv: CsvSeries): object {
  const r = csv.rejected;
  return r ? { rejected: { out_of_range: r.outOfRange, flagged: r.flagged, repeated_local_time: r.repeatedLocalTime } } : {};
}

async function train(o: { data: string; column: string; out: string; kind: ModelKind; stepS?: number; windowSteps?: number; horizonsS?: number[]; modelVersion?: string; timeZone?: string }): Promise<void> {
  const csv = await readData(o);
  const trained = trainKind(o.kind, csv, { stepS: o.stepS, windowSteps: o.windowSteps, horizonsS: o.horizonsS, modelVersion: o.modelVersion });
  log(`writing ${o.out}`);
  await writeModelFile(o.out, trained.parts);
  const file = await readModelFile(o.out);
  if (file.problems.length > 0) throw new ModelError('SELF_CHECK_FAILED', `written model breaks the contract: ${file.problems.join('; ')}`, file.problems);
  const check = await selfCheck(o.out, trained, csv);
  if (!(check.maxDiff <= SELF_CHECK_TOLERANCE)) throw new ModelError('SELF_CHECK_FAILED', `onnxruntime differs from the reference by ${check.maxDiff} (> ${SELF_CHECK_TOLERANCE})`);
  if (!(check.featureDiff <= SELF_CHECK_TOLERANCE)) throw new ModelError('SELF_CHECK_FAILED', `the graph's features differ from the reference's by ${check.featureDiff} (> ${SELF_CHECK_TOLERANCE}, relative)`);
  process.stdout.write(`${JSON.stringify({ out: o.out, ...trained.summary, ...rejectedJson(csv), onnx_reference_max_diff: check.maxDiff, ...(trained.featureWeights ? { onnx_feature_max_rel_diff: check.featureDiff } : {}) })}\n`);
}

async function selfCheck(path: string, trained: Trained, csv: CsvSeries): Promise<{ maxDiff: number; featureDiff: number }> {
  const c = trained.contract;
  const series = toStepSeries(csv, c.stepS, c.maxFillSteps);
  const W = c.windowSteps;
  const s = buildSamples(series, { windowSteps: W, horizonSteps: [1], mode: 'level', fromAnchor: 0, targetLimit: series.raw.length });
  const every = Math.max(1, Math.floor(s.n / SELF_CHECK_WINDOWS));
  const rows = Array.from({ length: Math.min(SELF_CHECK_WINDOWS, s.n) }, (_, i) => i * every).filter((r) => r < s.n);
  const { rh, time } = windowBatch(s, W, rows);
  if (trained.featureWeights) return checkFeatureGraph(await readFile(path), trained.featureWeights, rh, time);
  const session = await openSession(path);
  try {
    return { maxDiff: await maxForwardDiff(session, W, c.horizonsS.length, trained.reference, rh, time), featureDiff: 0 };
  } finally {
    await session.release();
  }
}

async function inspect(path: string): Promise<void> {
  const file = await readModelFile(path);
  const out: Record<string, unknown> = { path, contract: file.contract, problems: file.problems, metadata: file.metadata, inputs: file.inputs, outputs: file.outputs };
  if (file.contract) {
    try {
      const model = decodeModel(await readFile(path), path);
      if (FEATURE_GRAPH_NAMES.has(model.graph?.name ?? '')) {
        const w = readFeatureWeights(model, file.contract);
        out.feature_ridge = { q_lo: Array.from(w.qLo), q_hi: Array.from(w.qHi), scale_floor: w.scaleFloor };
        if (w.boost) out.boosted = { horizons_s: boostedHorizons(file.contract.horizonsS).map((k) => file.contract?.horizonsS[k]), trees: w.boost.models.map((m) => m.trees.length) };
        if (w.neural) out.neural = { hidden_units: w.neural.hidden, mix: Array.from(w.neural.mix, (m) => Math.round(m * 100) / 100) };
      } else {
        const w = readRidgeWeights(model, file.contract.windowSteps, file.contract.horizonsS.length);
        out.ridge = { q_lo: Array.from(w.qLo), q_hi: Array.from(w.qHi) };
      }
    } catch {
      // not a hygrocast ridge model (e.g. from skl2onnx): the contract is all there is to show
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  // The contract is printed whole so the problems can be read beside it; the exit code is eval's.
  if (file.problems.length > 0) process.exitCode = 2;
}

async function evaluate(o: { model: string; data: string; column: string; timeZone?: string }): Promise<void> {
  const file = await readModelFile(o.model);
  if (!file.contract) throw new ModelError('MODEL_CONTRACT_VIOLATION', `${o.model} breaks the model contract:\n- ${file.problems.join('\n- ')}`, file.problems);
  const csv = await readData(o);
  const session = await openSession(o.model);
  try {
    process.stdout.write(`${JSON.stringify({ ...(await evaluateModel(session, file.contract, csv)), ...rejectedJson(csv) })}\n`);
  } finally {
    await session.release();
  }
}

const TIME_ZONE_FLAG = '--time-zone <iana>';
const TIME_ZONE_HELP = 'IANA zone whose local time of day zoned timestamps (Z, +01:00) are read in; the gateway uses its TZ (default: this process\'s TZ; zone-less timestamps are local time as written)';

const program = new Command('model').description('Train, inspect and evaluate hygrocast forecasting models (docs/model-contract.md).')
  // Before the subcommands are added, so they inherit it: usage errors then reach the exit-code rule below.
  .exitOverride();
program
  .command('train')
  .description('Train a model on one CSV column and write an ONNX file (default: the feature ridge, see models/MODEL_CARD.md).')
  .requiredOption('--data <csv>', 'CSV with a timestamp column and numeric columns')
  .requiredOption('--column <name>', 'column to forecast (%RH)')
  .requiredOption('--out <file.onnx>', 'where to write the model')
  .option('--kind <kind>', 'ensemble (the boosted model averaged per horizon with a small neural network; the shipped kind), boosted (feature ridge plus absolute-error boosted trees on its residuals), feature (the ridge on in-graph features alone, shrunk toward persistence) or ridge (the delta ridge of v1/v2)', kindArg, 'ensemble' as ModelKind)
  .option('--step-s <s>', 'resampling step in seconds (default 600)', intArg('--step-s'))
  .option('--window-steps <n>', 'window length in steps (default 144)', intArg('--window-steps'))
  .option('--horizons-s <list>', 'comma-separated horizons in seconds (default 600..21600 every 600)', horizonsArg)
  .option('--model-version <v>', 'model_version metadata')
  .option(TIME_ZONE_FLAG, TIME_ZONE_HELP)
  .action(train);
program.command('inspect').description('Print the contract and metadata of an ONNX file.').argument('<file.onnx>').action(inspect);
program
  .command('eval')
  .description('MAE per horizon of a model vs persistence and a ridge baseline on the last 30% of a CSV column.')
  .requiredOption('--model <file.onnx>', 'model to evaluate')
  .requiredOption('--data <csv>', 'CSV file')
  .requiredOption('--column <name>', 'column')
  .option(TIME_ZONE_FLAG, TIME_ZONE_HELP)
  .action(evaluate);

/**
 * Exit codes: 2 when the input was unusable (bad CSV, missing column, too few rows, bad or
 * contract-breaking model file, bad arguments; `inspect` of a contract-breaking file prints the
 * contract and its problems, then exits 2) so scripts can tell "fix your input" from 1 =
 * anything else (onnxruntime failure, SELF_CHECK_FAILED: the trainer's own graph is wrong).
 */
const INPUT_ERRORS = new Set<string>(['DATA_INVALID', 'TRAINING_FAILED', 'MODEL_READ_FAILED', 'MODEL_CONTRACT_VIOLATION']);
program.parseAsync(process.argv).catch((err: unknown) => {
  const commanderCode = (err as { code?: unknown }).code;
  if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) {
    // commander already printed its message; help/version are not errors.
    process.exitCode = commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version' ? 0 : 2;
    return;
  }
  const code = err instanceof ModelError ? ` [${err.code}]` : '';
  process.stderr.write(`error${code}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof ModelError && INPUT_ERRORS.has(err.code) ? 2 : 1;
});
