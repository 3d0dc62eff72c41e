import ort from 'onnxruntime-node';
import { INPUT_RH, INPUT_TIME, OUTPUT_FORECAST, OUTPUT_LOWER, OUTPUT_UPPER } from './contract.ts';
import { ModelError } from './errors.ts';

/**
 * Running a contract model with onnxruntime-node. One thread each for intra- and inter-op:
 * the models are tiny, and the default thread pools add tail latency on a 4-core Pi that is
 * also serving MQTT and the dashboard.
 */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  // Fatal only: a failing run already rejects with the same message, which the caller reports
  // once (e.g. as a model_error NoForecast); onnxruntime would also print it to stderr.
  logSeverityLevel: 4,
};

export async function openSession(path: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, SESSION_OPTIONS);
  } catch (err) {
    throw new ModelError('MODEL_SESSION_FAILED', `onnxruntime cannot load ${path}: ${(err as Error).message}`, [], { cause: err });
  }
}

export interface BatchOutput {
  /** n x H each, row-major. */
  forecast: Float32Array;
  lower: Float32Array;
  upper: Float32Array;
}

/** Runs n windows (n x W values) with their time features (n x 2). Rejects on any runtime error. */
export async function runBatch(session: ort.InferenceSession, windowSteps: number, rh: Float32Array, time: Float32Array): Promise<BatchOutput> {
  const n = rh.length / windowSteps;
  const out = await session.run({
    [INPUT_RH]: new ort.Tensor('float32', rh, [n, windowSteps]),
    [INPUT_TIME]: new ort.Tensor('float32', time, [n, 2]),
  });
  return { forecast: floats(out, OUTPUT_FORECAST), lower: floats(out, OUTPUT_LOWER), upper: floats(out, OUTPUT_UPPER) };
}

function floats(out: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = out[name];
  if (!t || !(t.data instanceof Float32Array)) throw new ModelError('MODEL_SESSION_MISMATCH', `output "${name}": missing or not float32`);
  return t.data;
}
