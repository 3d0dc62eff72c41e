import type onnxproto from 'onnx-proto';
import { INPUT_RH, INPUT_TIME } from './contract.ts';
import type { ModelContract } from './contract.ts';
import { contractGraph } from './contract-graph.ts';
import { ModelError } from './errors.ts';
import { floatTensor, initializerValues, int64Tensor, node } from './onnx-file.ts';
import type { ModelParts } from './onnx-file.ts';
import type { RidgeWeights } from './reference.ts';

/**
 * The ridge model as an ONNX graph (same computation as reference.ts):
 *   last = Slice(rh, [W-1], [W], axes=[1]);  d = Sub(rh, last)
 *   y = Add(Add(Add(MatMul(d, W_rh), MatMul(time_features, W_t)), b), last)
 *   lower = y + q_lo;  upper = y + q_hi;  Clip all three to [0, 100].
 */
export function buildRidgeModel(w: RidgeWeights, contract: ModelContract): ModelParts {
  const W = w.windowSteps;
  const H = w.horizons;
  if (contract.windowSteps !== W || contract.horizonsS.length !== H) {
    throw new ModelError('TRAINING_FAILED', `weights are ${W}x${H} but the contract says window ${contract.windowSteps}, ${contract.horizonsS.length} horizons`);
  }
  const io = contractGraph(contract);
  return {
    graphName: 'hygrocast_ridge',
    docString: 'Direct multi-horizon ridge regression on deltas to the last step, with split-conformal intervals. See docs/model-contract.md.',
    initializers: [
      int64Tensor('slice_starts', [1], [W - 1]),
      int64Tensor('slice_ends', [1], [W]),
      int64Tensor('slice_axes', [1], [1]),
      floatTensor('W_rh', [W, H], w.wRh),
      floatTensor('W_t', [2, H], w.wT),
      floatTensor('b', [H], w.b),
      floatTensor('q_lo', [H], w.qLo),
      floatTensor('q_hi', [H], w.qHi),
      ...io.clipInitializers,
    ],
    nodes: [
      node('Slice', [INPUT_RH, 'slice_starts', 'slice_ends', 'slice_axes'], ['last']),
      node('Sub', [INPUT_RH, 'last'], ['d']),
      node('MatMul', ['d', 'W_rh'], ['from_rh']),
      node('MatMul', [INPUT_TIME, 'W_t'], ['from_time']),
      node('Add', ['from_rh', 'from_time'], ['delta_no_bias']),
      node('Add', ['delta_no_bias', 'b'], ['delta']),
      node('Add', ['delta', 'last'], ['y']),
      node('Add', ['y', 'q_lo'], ['y_lo']),
      node('Add', ['y', 'q_hi'], ['y_hi']),
      ...io.clipNodes,
    ],
    inputs: io.inputs,
    outputs: io.outputs,
    metadata: io.metadata,
  };
}

/** The weights back out of a ridge model file built by buildRidgeModel. */
export function readRidgeWeights(model: onnxproto.onnx.ModelProto, windowSteps: number, horizons: number): RidgeWeights {
  const get = (name: string, size: number): Float32Array => {
    const v = initializerValues(model, name);
    if (!v) throw new ModelError('MODEL_CONTRACT_VIOLATION', `initializer "${name}": missing, this is not a hygrocast ridge model`);
    if (v.length !== size) throw new ModelError('MODEL_CONTRACT_VIOLATION', `initializer "${name}": ${v.length} values, expected ${size}`);
    return v;
  };
  return {
    windowSteps,
    horizons,
    wRh: get('W_rh', windowSteps * horizons),
    wT: get('W_t', 2 * horizons),
    b: get('b', horizons),
    qLo: get('q_lo', horizons),
    qHi: get('q_hi', horizons),
  };
}
