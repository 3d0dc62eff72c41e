import ort from 'onnxruntime-node';
import { INPUT_RH, INPUT_TIME, OUTPUT_FORECAST, OUTPUT_LOWER, OUTPUT_UPPER } from './contract.ts';
import { ModelError } from './errors.ts';
import { featureReferenceForward } from './feature-ridge.ts';
import type { FeatureRidgeWeights } from './feature-ridge.ts';
import { computeFeatures, featureLayout } from './feature-set.ts';
import { decodeModel, floatValueInfo, onnx } from './onnx-file.ts';
import { SESSION_OPTIONS } from './ort-run.ts';

/**
 * The feature models' graph checked against the TypeScript reference in two parts, so a tree
 * model is checked on every window:
 *   1. the `features` tensor the graph computes (float32) vs computeFeatures (float64), and
 *   2. the three outputs vs the reference fed the graph's own features for the tree stage.
 * Without (2) a window whose feature lies within float32 rounding of a split threshold could
 * branch differently in the graph and the reference, which is rounding, not a wrong graph;
 * (1) shows the features themselves agree.
 */
export interface GraphCheck {
  /** Largest |output - reference| over every window and horizon, %RH. */
  maxDiff: number;
  /** Largest |graph feature - reference feature| / max(1, |reference feature|). */
  featureDiff: number;
  windows: number;
}

/** The model's bytes with the internal `features` tensor added as a graph output. */
export function withFeaturesOutput(bytes: Uint8Array, features: number): Uint8Array {
  const model = decodeModel(bytes);
  if (!model.graph) throw new ModelError('MODEL_READ_FAILED', 'model has no graph');
  model.graph.output = [...(model.graph.output ?? []), onnx.ValueInfoProto.create(floatValueInfo('features', ['N', features]))];
  return onnx.ModelProto.encode(model).finish();
}

export async function checkFeatureGraph(bytes: Uint8Array, w: FeatureRidgeWeights, rh: Float32Array, time: Float32Array): Promise<GraphCheck> {
  const W = w.windowSteps;
  const H = w.horizons;
  const layout = featureLayout(w.stepS, W);
  const P = layout.total;
  const session = await ort.InferenceSession.create(withFeaturesOutput(bytes, P), SESSION_OPTIONS);
  try {
    const n = rh.length / W;
    const out = await session.run({ [INPUT_RH]: new ort.Tensor('float32', rh, [n, W]), [INPUT_TIME]: new ort.Tensor('float32', time, [n, 2]) });
    const get = (name: string): Float32Array => {
      const t = out[name];
      if (!t || !(t.data instanceof Float32Array)) throw new ModelError('MODEL_SESSION_MISMATCH', `output "${name}": missing or not float32`);
      return t.data;
    };
    const [forecast, lower, upper, features] = [get(OUTPUT_FORECAST), get(OUTPUT_LOWER), get(OUTPUT_UPPER), get('features')];
    let maxDiff = 0;
    let featureDiff = 0;
    for (let r = 0; r < n; r++) {
      const window = rh.subarray(r * W, (r + 1) * W);
      const t: [number, number] = [time[r * 2] ?? 0, time[r * 2 + 1] ?? 0];
      const graphF = features.subarray(r * P, (r + 1) * P);
      computeFeatures(layout, window, t).forEach((v, j) => {
        featureDiff = Math.max(featureDiff, Math.abs((graphF[j] ?? NaN) - v) / Math.max(1, Math.abs(v)));
      });
      const ref = featureReferenceForward(w, window, t, graphF);
      for (let k = 0; k < H; k++) {
        const i = r * H + k;
        maxDiff = Math.max(maxDiff, Math.abs((forecast[i] ?? NaN) - (ref.forecast[k] ?? NaN)), Math.abs((lower[i] ?? NaN) - (ref.lower[k] ?? NaN)), Math.abs((upper[i] ?? NaN) - (ref.upper[k] ?? NaN)));
      }
      if (Number.isNaN(maxDiff) || Number.isNaN(featureDiff)) return { maxDiff: NaN, featureDiff: NaN, windows: n };
    }
    return { maxDiff, featureDiff, windows: n };
  } finally {
    await session.release();
  }
}
