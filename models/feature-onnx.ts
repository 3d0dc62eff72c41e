import onnxproto from 'onnx-proto';
import { INPUT_RH, INPUT_TIME } from './contract.ts';
import type { ModelContract } from './contract.ts';
import { contractGraph } from './contract-graph.ts';
import { ModelError } from './errors.ts';
import type { FeatureRidgeWeights } from './feature-ridge.ts';
import { differenceMatrix, featureLayout, linearMatrix } from './feature-set.ts';
import { floatTensor, initializerValues, int64Tensor, node } from './onnx-file.ts';
import type { ModelParts } from './onnx-file.ts';

/**
 * The feature-ridge model as an ONNX graph (same computation as feature-ridge.ts): the features
 * of feature-set.ts are computed inside the graph from `rh` and `time_features`, so the model
 * keeps the contract's inputs and any contract-aware gateway runs it unchanged.
 *   last = Slice(rh, W-1);  d = rh - last;  lin = MatMul(d, A)
 *   vol  = Sqrt(MatMul(Square(MatMul(d, D)), 1/V));  m1 = Slice(lin, 0)
 *   M    = Slice(lin, 0..meanSteps)  (the multi-scale means)
 *   F    = Concat(lin, last, time, vol, time*last, time*vol, time*m1, M*last, M*vol, Abs(M))
 *   y    = MatMul(F, W_f) + b + last;  s = vol + scale_floor
 *   lower = y + s*q_lo;  upper = y + s*q_hi;  Clip all three to [0, 100].
 */
export const FEATURE_GRAPH_NAME = 'hygrocast_feature_ridge';

function concat(inputs: string[], output: string): onnxproto.onnx.INodeProto {
  return { ...node('Concat', inputs, [output]), attribute: [{ name: 'axis', type: onnxproto.onnx.AttributeProto.AttributeType.INT, i: 1 }] };
}

export function buildFeatureModel(w: FeatureRidgeWeights, contract: ModelContract): ModelParts {
  const W = w.windowSteps;
  const H = w.horizons;
  if (contract.windowSteps !== W || contract.horizonsS.length !== H || contract.stepS !== w.stepS) {
    throw new ModelError('TRAINING_FAILED', `weights are for step ${w.stepS} s, window ${W}, ${H} horizons but the contract says ${contract.stepS} s, ${contract.windowSteps}, ${contract.horizonsS.length}`);
  }
  const l = featureLayout(w.stepS, W);
  const V = l.volSteps;
  const io = contractGraph(contract);
  return {
    graphName: FEATURE_GRAPH_NAME,
    docString: 'Direct multi-horizon ridge on features computed in the graph (multi-scale trends, slope, same time yesterday, level, volatility, time-of-day interactions), shrunk toward persistence per horizon, with volatility-scaled conformal intervals. See models/feature-set.ts and docs/model-contract.md.',
    initializers: [
      int64Tensor('slice_starts', [1], [W - 1]),
      int64Tensor('slice_ends', [1], [W]),
      int64Tensor('axis_1', [1], [1]),
      int64Tensor('zero', [1], [0]),
      int64Tensor('one', [1], [1]),
      int64Tensor('n_means', [1], [l.meanSteps.length]),
      floatTensor('A', [W, l.linear], linearMatrix(l)),
      floatTensor('D', [W, V], differenceMatrix(l)),
      floatTensor('mean_v', [V, 1], new Float32Array(V).fill(1 / V)),
      floatTensor('W_f', [l.total, H], w.wF),
      floatTensor('b', [H], w.b),
      floatTensor('q_lo', [H], w.qLo),
      floatTensor('q_hi', [H], w.qHi),
      floatTensor('scale_floor', [], [w.scaleFloor]),
      ...io.clipInitializers,
    ],
    nodes: [
      node('Slice', [INPUT_RH, 'slice_starts', 'slice_ends', 'axis_1'], ['last']),
      node('Sub', [INPUT_RH, 'last'], ['d']),
      node('MatMul', ['d', 'A'], ['lin']),
      node('MatMul', ['d', 'D'], ['steps']),
      node('Mul', ['steps', 'steps'], ['steps_sq']),
      node('MatMul', ['steps_sq', 'mean_v'], ['mean_sq']),
      node('Sqrt', ['mean_sq'], ['vol']),
      node('Slice', ['lin', 'zero', 'one', 'axis_1'], ['m1']),
      node('Mul', [INPUT_TIME, 'last'], ['t_last']),
      node('Mul', [INPUT_TIME, 'vol'], ['t_vol']),
      node('Mul', [INPUT_TIME, 'm1'], ['t_m1']),
      node('Slice', ['lin', 'zero', 'n_means', 'axis_1'], ['means']),
      node('Mul', ['means', 'last'], ['means_last']),
      node('Mul', ['means', 'vol'], ['means_vol']),
      node('Abs', ['means'], ['means_abs']),
      concat(['lin', 'last', INPUT_TIME, 'vol', 't_last', 't_vol', 't_m1', 'means_last', 'means_vol', 'means_abs'], 'features'),
      node('MatMul', ['features', 'W_f'], ['delta_no_bias']),
      node('Add', ['delta_no_bias', 'b'], ['delta']),
      node('Add', ['delta', 'last'], ['y']),
      node('Add', ['vol', 'scale_floor'], ['scale']),
      node('Mul', ['scale', 'q_lo'], ['off_lo']),
      node('Mul', ['scale', 'q_hi'], ['off_hi']),
      node('Add', ['y', 'off_lo'], ['y_lo']),
      node('Add', ['y', 'off_hi'], ['y_hi']),
      ...io.clipNodes,
    ],
    inputs: io.inputs,
    outputs: io.outputs,
    metadata: io.metadata,
  };
}

/** The weights back out of a file built by buildFeatureModel (stepS, W and H from its contract). */
export function readFeatureWeights(model: onnxproto.onnx.ModelProto, contract: ModelContract): FeatureRidgeWeights {
  const W = contract.windowSteps;
  const H = contract.horizonsS.length;
  const total = featureLayout(contract.stepS, W).total;
  const get = (name: string, size: number): Float32Array => {
    const v = initializerValues(model, name);
    if (!v) throw new ModelError('MODEL_CONTRACT_VIOLATION', `initializer "${name}": missing, this is not a hygrocast feature-ridge model`);
    if (v.length !== size) throw new ModelError('MODEL_CONTRACT_VIOLATION', `initializer "${name}": ${v.length} values, expected ${size}`);
    return v;
  };
  return {
    stepS: contract.stepS,
    windowSteps: W,
    horizons: H,
    wF: get('W_f', total * H),
    b: get('b', H),
    qLo: get('q_lo', H),
    qHi: get('q_hi', H),
    scaleFloor: get('scale_floor', 1)[0] ?? 0,
  };
}
