/**
 * The model contract (docs/model-contract.md) as code: the names, shapes and metadata keys an
 * ONNX forecasting model must have so the gateway can run it, whoever trained it.
 */

/** The contract version this code writes and the gateway accepts. */
export const CONTRACT_VERSION = '1';
/** Every metadata key is `hygrocast.<name>`. */
export const METADATA_PREFIX = 'hygrocast.';
/** Default for the optional `max_fill_steps` key: interior gaps up to 3 steps are interpolated. */
export const DEFAULT_MAX_FILL_STEPS = 3;

export const INPUT_RH = 'rh';
export const INPUT_TIME = 'time_features';
export const OUTPUT_FORECAST = 'rh_forecast';
export const OUTPUT_LOWER = 'rh_lower';
export const OUTPUT_UPPER = 'rh_upper';
export const INPUT_NAMES = [INPUT_RH, INPUT_TIME] as const;
export const OUTPUT_NAMES = [OUTPUT_FORECAST, OUTPUT_LOWER, OUTPUT_UPPER] as const;

/** Required metadata keys, without the prefix. */
export const REQUIRED_KEYS = [
  'contract_version',
  'model_version',
  'step_s',
  'window_steps',
  'horizons_s',
  'interval_level',
  'trained_at',
  'training_data',
  'training_range',
  'validation_mae',
  'interval_coverage',
  'features',
] as const;
/** Optional metadata keys, without the prefix. */
export const OPTIONAL_KEYS = ['max_fill_steps'] as const;

/** Bounds that keep a hostile or broken model file from making the gateway allocate without limit. */
const MAX_WINDOW_STEPS = 100_000;
const MAX_HORIZONS = 1_000;

/** A graph input or output as declared in the ONNX file. */
export interface TensorSignature {
  name: string;
  /** 'float32', 'float64', 'int64', ... or 'unknown' when the file declares no tensor type. */
  elemType: string;
  /** One entry per axis: a fixed size, a symbolic name (dim_param), or null when unknown. */
  dims: (number | string | null)[];
}

/** The parsed, validated contract of one model. */
export interface ModelContract {
  contractVersion: string;
  modelVersion: string;
  /** Resampling step in seconds. */
  stepS: number;
  /** Number of steps in the `rh` input (W). */
  windowSteps: number;
  /** Forecast horizons in seconds after the end of the last step, strictly increasing (H of them). */
  horizonsS: number[];
  /** Coverage of the central interval [rh_lower, rh_upper], e.g. 0.8. */
  intervalLevel: number;
  /** Longest interior run of missing steps that may be filled by linear interpolation. */
  maxFillSteps: number;
  trainedAt: string;
  trainingData: string;
  trainingRange: string;
  /** Horizon in seconds (as a string key) -> validation MAE in %RH. */
  validationMae: Record<string, number>;
  /** Horizon in seconds (as a string key) -> empirical coverage of the interval. */
  intervalCoverage: Record<string, number>;
  features: string;
}

export interface ContractCheck {
  /** The contract, or null when there is any problem. */
  contract: ModelContract | null;
  /** Every problem found, each naming the part that is wrong. Empty when the model is usable. */
  problems: string[];
}

/** Metadata as written into the ONNX file's metadata_props (prefixed keys, string values). */
export function contractToMetadata(c: ModelContract): Record<string, string> {
  const m: Record<string, string> = {
    contract_version: c.contractVersion,
    model_version: c.modelVersion,
    step_s: String(c.stepS),
    window_steps: String(c.windowSteps),
    horizons_s: c.horizonsS.join(','),
    interval_level: String(c.intervalLevel),
    max_fill_steps: String(c.maxFillSteps),
    trained_at: c.trainedAt,
    training_data: c.trainingData,
    training_range: c.trainingRange,
    validation_mae: JSON.stringify(c.validationMae),
    interval_coverage: JSON.stringify(c.intervalCoverage),
    features: c.features,
  };
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [METADATA_PREFIX + k, v]));
}

/** Returns every problem with the metadata and graph signature; empty when the model is usable. */
export function validateContract(
  metadata: Record<string, string>,
  inputs: TensorSignature[],
  outputs: TensorSignature[],
): string[] {
  return checkContract(metadata, inputs, outputs).problems;
}

/** Validates and parses in one pass (see validateContract). */
export function checkContract(
  metadata: Record<string, string>,
  inputs: TensorSignature[],
  outputs: TensorSignature[],
): ContractCheck {
  const problems: string[] = [];
  const get = (key: string): string | undefined => metadata[METADATA_PREFIX + key];
  for (const key of REQUIRED_KEYS) {
    if (get(key) === undefined) problems.push(`metadata: missing key "${METADATA_PREFIX}${key}"`);
  }
  const version = get('contract_version');
  if (version !== undefined && version !== CONTRACT_VERSION) {
    problems.push(`metadata ${METADATA_PREFIX}contract_version: "${version}" is not supported (expected "${CONTRACT_VERSION}")`);
  }
  const modelVersion = get('model_version');
  if (modelVersion !== undefined && modelVersion.trim() === '') problems.push(`metadata ${METADATA_PREFIX}model_version: empty`);
  const stepS = positiveInt(get('step_s'), 'step_s', 86_400 * 7, problems);
  const windowSteps = positiveInt(get('window_steps'), 'window_steps', MAX_WINDOW_STEPS, problems);
  const maxFillRaw = get('max_fill_steps');
  const maxFillSteps = maxFillRaw === undefined ? DEFAULT_MAX_FILL_STEPS : nonNegativeInt(maxFillRaw, 'max_fill_steps', problems);
  const horizonsS = parseHorizons(get('horizons_s'), problems);
  const intervalLevel = parseLevel(get('interval_level'), problems);
  const trainedAt = get('trained_at');
  if (trainedAt !== undefined && Number.isNaN(Date.parse(trainedAt))) {
    problems.push(`metadata ${METADATA_PREFIX}trained_at: "${trainedAt}" is not an ISO 8601 time`);
  }
  if (stepS !== null && horizonsS !== null) checkHorizonSteps(horizonsS, stepS, problems);
  const validationMae = parseNumberMap(get('validation_mae'), 'validation_mae', horizonsS, problems);
  const intervalCoverage = parseNumberMap(get('interval_coverage'), 'interval_coverage', horizonsS, problems);
  checkSignatures(inputs, outputs, windowSteps, horizonsS?.length ?? null, problems);
  if (problems.length > 0 || stepS === null || windowSteps === null || horizonsS === null || intervalLevel === null || maxFillSteps === null) {
    return { contract: null, problems };
  }
  return {
    problems,
    contract: {
      contractVersion: version ?? CONTRACT_VERSION,
      modelVersion: modelVersion ?? '',
      stepS,
      windowSteps,
      horizonsS,
      intervalLevel,
      maxFillSteps,
      trainedAt: trainedAt ?? '',
      trainingData: get('training_data') ?? '',
      trainingRange: get('training_range') ?? '',
      validationMae: validationMae ?? {},
      intervalCoverage: intervalCoverage ?? {},
      features: get('features') ?? '',
    },
  };
}

function positiveInt(raw: string | undefined, key: string, max: number, problems: string[]): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n <= 0 || n > max) {
    problems.push(`metadata ${METADATA_PREFIX}${key}: "${raw}" is not a positive integer <= ${max}`);
    return null;
  }
  return n;
}

function nonNegativeInt(raw: string, key: string, problems: string[]): number | null {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0 || n > MAX_WINDOW_STEPS) {
    problems.push(`metadata ${METADATA_PREFIX}${key}: "${raw}" is not a non-negative integer`);
    return null;
  }
  return n;
}

function parseHorizons(raw: string | undefined, problems: string[]): number[] | null {
  if (raw === undefined) return null;
  const where = `metadata ${METADATA_PREFIX}horizons_s`;
  const parts = raw.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (raw.trim() === '' || parts.some((p, i) => p === '' || !Number.isInteger(values[i]))) {
    problems.push(`${where}: "${raw}" is not a comma-separated list of integer seconds`);
    return null;
  }
  if (values.length > MAX_HORIZONS) {
    problems.push(`${where}: ${values.length} horizons, more than ${MAX_HORIZONS}`);
    return null;
  }
  if (values.some((v) => v <= 0)) {
    problems.push(`${where}: horizons must be positive ("${raw}")`);
    return null;
  }
  for (let i = 1; i < values.length; i++) {
    if ((values[i] ?? 0) <= (values[i - 1] ?? 0)) {
      problems.push(`${where}: horizons not strictly increasing at position ${i} (${values[i - 1]} then ${values[i]})`);
      return null;
    }
  }
  return values;
}

/** The gateway resamples to step_s and forecasts whole steps ahead: a horizon between steps has no row. */
function checkHorizonSteps(horizonsS: number[], stepS: number, problems: string[]): void {
  const off = horizonsS.filter((h) => h % stepS !== 0);
  if (off.length > 0) problems.push(`metadata ${METADATA_PREFIX}horizons_s: ${off.join(', ')} not a multiple of step_s (${stepS})`);
}

function parseLevel(raw: string | undefined, problems: string[]): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n >= 1) {
    problems.push(`metadata ${METADATA_PREFIX}interval_level: "${raw}" is not a number strictly between 0 and 1`);
    return null;
  }
  return n;
}

/** A JSON object of horizon_s -> number with exactly one entry per horizon (when the horizons parsed). */
function parseNumberMap(raw: string | undefined, key: string, horizonsS: number[] | null, problems: string[]): Record<string, number> | null {
  if (raw === undefined) return null;
  const where = `metadata ${METADATA_PREFIX}${key}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push(`${where}: not valid JSON`);
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`${where}: expected a JSON object of horizon_s -> number`);
    return null;
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push(`${where}: value for "${k}" is not a finite number`);
      return null;
    }
    out[k] = v;
  }
  if (horizonsS !== null) {
    const missing = horizonsS.map(String).filter((h) => !(h in out));
    const extra = Object.keys(out).filter((k) => !horizonsS.map(String).includes(k));
    if (missing.length > 0 || extra.length > 0) {
      const parts = [missing.length > 0 ? `missing ${missing.join(', ')}` : '', extra.length > 0 ? `not a horizon: ${extra.join(', ')}` : ''].filter(Boolean);
      problems.push(`${where}: needs one entry per horizon in horizons_s (${parts.join('; ')})`);
      return null;
    }
  }
  return out;
}

function checkSignatures(
  inputs: TensorSignature[],
  outputs: TensorSignature[],
  windowSteps: number | null,
  horizons: number | null,
  problems: string[],
): void {
  for (const input of inputs) {
    if (!(INPUT_NAMES as readonly string[]).includes(input.name)) {
      problems.push(`input "${input.name}": not part of the contract (inputs are ${INPUT_NAMES.join(', ')}), the gateway cannot feed it`);
    }
  }
  checkTensor('input', INPUT_RH, inputs, windowSteps, problems);
  checkTensor('input', INPUT_TIME, inputs, 2, problems);
  for (const name of OUTPUT_NAMES) checkTensor('output', name, outputs, horizons, problems);
}

/** Requires a float32 tensor of rank 2 whose second axis, when fixed, equals `width`. */
function checkTensor(kind: string, name: string, list: TensorSignature[], width: number | null, problems: string[]): void {
  const t = list.find((x) => x.name === name);
  if (!t) {
    problems.push(`${kind} "${name}": missing (found ${list.map((x) => `"${x.name}"`).join(', ') || 'none'})`);
    return;
  }
  if (t.elemType !== 'float32') problems.push(`${kind} "${name}": element type ${t.elemType}, expected float32`);
  if (t.dims.length !== 2) {
    problems.push(`${kind} "${name}": rank ${t.dims.length} [${t.dims.join(', ')}], expected rank 2 [N, ${width ?? '?'}]`);
    return;
  }
  const second = t.dims[1];
  if (width !== null && typeof second === 'number' && second !== width) {
    problems.push(`${kind} "${name}": shape [${t.dims.join(', ')}], second axis must be ${width}`);
  }
}
