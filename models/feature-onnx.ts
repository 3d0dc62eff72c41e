import onnxproto from 'onnx-proto';
import { INPUT_RH, INPUT_TIME } from './contract.ts';
import type { ModelContract } from './contract.ts';
import { contractGraph } from './contract-graph.ts';
import { ModelError } from './errors.ts';
import type { BoostStage, FeatureRidgeWeights, NeuralStage } from './feature-ridge.ts';
import { differenceMatrix, featureLayout, HARMONICS, linearMatrix } from './feature-set.ts';
import type { GbmModel, TreeNode } from './gbm.ts';
import { floatTensor, initializerValues, int64Tensor, node } from './onnx-file.ts';
import type { ModelParts } from './onnx-file.ts';

/**
 * The feature-ridge model as an ONNX graph (same computation as feature-ridge.ts): the features
 * of feature-set.ts are computed inside the graph from `rh` and `time_features`, so the model
 * keeps the contract's inputs and any contract-aware gateway runs it unchanged.
 *   last = Slice(rh, W-1);  d = rh - last;  lin = MatMul(d, A)
 *   vol  = Sqrt(MatMul(Square(MatMul(d, D)), 1/V));  m1 = Slice(lin, 0)
 *   M    = Slice(lin, 0..meanSteps)  (the multi-scale means)
 *   F    = Concat(lin, last, time, vol, time*last, time*vol, time*m1, M*last, M*vol, Abs(M),
 *                 sin 2x, cos 2x, ..., sin 4x, cos 4x)   (angle addition from time)
 *   y    = MatMul(F, W_f) + b + last;  s = vol + scale_floor
 *   boosted: y += MatMul(TreeEnsembleRegressor(F), interp)   (ai.onnx.ml, one target per
 *            boosted horizon, BRANCH_LT on float32 thresholds)
 *   ensemble: nn = MatMul(Relu(MatMul(F, nn_w1) + nn_b1), nn_w2) + nn_b2
 *             delta += nn_mix * (nn - delta)            (before y = delta + last)
 *   lower = y + s*q_lo;  upper = y + s*q_hi;  Clip all three to [0, 100].
 */
export const FEATURE_GRAPH_NAME = 'hygrocast_feature_ridge';
/** The same graph with the boosted-tree stage. */
export const BOOSTED_GRAPH_NAME = 'hygrocast_feature_boosted';
/** The boosted graph averaged per horizon with a neural network. */
export const ENSEMBLE_GRAPH_NAME = 'hygrocast_feature_ensemble';
/** Graphs readFeatureWeights can read. */
export const FEATURE_GRAPH_NAMES: ReadonlySet<string> = new Set([FEATURE_GRAPH_NAME, BOOSTED_GRAPH_NAME, ENSEMBLE_GRAPH_NAME]);
const ML_DOMAIN = 'ai.onnx.ml';
const TREE_NODE = 'boost_trees';
const A = onnxproto.onnx.AttributeProto.AttributeType;

function harmonicNodes(): { nodes: onnxproto.onnx.INodeProto[]; outputs: string[] } {
  const nodes: onnxproto.onnx.INodeProto[] = [node('Slice', [INPUT_TIME, 'zero', 'one', 'axis_1'], ['sin1']), node('Slice', [INPUT_TIME, 'one', 'two', 'axis_1'], ['cos1'])];
  const outputs: string[] = [];
  for (let k = 2; k <= HARMONICS; k++) {
    const [sp, cp] = [`sin${k - 1}`, `cos${k - 1}`];
    nodes.push(
      node('Mul', [sp, 'cos1'], [`sc${k}`]),
      node('Mul', [cp, 'sin1'], [`cs${k}`]),
      node('Add', [`sc${k}`, `cs${k}`], [`sin${k}`]),
      node('Mul', [cp, 'cos1'], [`cc${k}`]),
      node('Mul', [sp, 'sin1'], [`ss${k}`]),
      node('Sub', [`cc${k}`, `ss${k}`], [`cos${k}`]),
    );
    outputs.push(`sin${k}`, `cos${k}`);
  }
  return { nodes, outputs };
}

/** The boosted stage as one ai.onnx.ml TreeEnsembleRegressor (opset 1) with a target per model. */
function treeEnsemble(boost: BoostStage): onnxproto.onnx.INodeProto {
  const n = { treeIds: [] as number[], nodeIds: [] as number[], featureIds: [] as number[], modes: [] as string[], values: [] as number[], yes: [] as number[], no: [] as number[] };
  const t = { ids: [] as number[], nodeIds: [] as number[], treeIds: [] as number[], weights: [] as number[] };
  let treeId = 0;
  boost.models.forEach((m, target) => {
    for (const tree of m.trees) {
      tree.forEach((nd, id) => {
        n.treeIds.push(treeId);
        n.nodeIds.push(id);
        if ('value' in nd) {
          n.featureIds.push(0);
          n.modes.push('LEAF');
          n.values.push(0);
          n.yes.push(0);
          n.no.push(0);
          t.ids.push(target);
          t.nodeIds.push(id);
          t.treeIds.push(treeId);
          t.weights.push(nd.value);
        } else {
          n.featureIds.push(nd.feature);
          n.modes.push('BRANCH_LT');
          n.values.push(nd.threshold);
          n.yes.push(nd.yes);
          n.no.push(nd.no);
        }
      });
      treeId++;
    }
  });
  const ints = (name: string, v: number[]): onnxproto.onnx.IAttributeProto => ({ name, type: A.INTS, ints: v });
  const floats = (name: string, v: number[]): onnxproto.onnx.IAttributeProto => ({ name, type: A.FLOATS, floats: v });
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  return {
    ...node('TreeEnsembleRegressor', ['features'], ['tree_out'], TREE_NODE),
    domain: ML_DOMAIN,
    attribute: [
      { name: 'n_targets', type: A.INT, i: boost.models.length },
      { name: 'aggregate_function', type: A.STRING, s: text('SUM') },
      { name: 'post_transform', type: A.STRING, s: text('NONE') },
      floats('base_values', boost.models.map((m) => m.base)),
      ints('nodes_treeids', n.treeIds),
      ints('nodes_nodeids', n.nodeIds),
      ints('nodes_featureids', n.featureIds),
      { name: 'nodes_modes', type: A.STRINGS, strings: n.modes.map(text) },
      floats('nodes_values', n.values),
      ints('nodes_truenodeids', n.yes),
      ints('nodes_falsenodeids', n.no),
      ints('target_ids', t.ids),
      ints('target_nodeids', t.nodeIds),
      ints('target_treeids', t.treeIds),
      floats('target_weights', t.weights),
    ],
  };
}

/** The boosted stage back out of the TreeEnsembleRegressor node and the interp initializer. */
function readBoost(model: onnxproto.onnx.ModelProto, H: number): BoostStage {
  const nd = model.graph?.node?.find((x) => x.name === TREE_NODE && x.opType === 'TreeEnsembleRegressor');
  if (!nd) throw new ModelError('MODEL_CONTRACT_VIOLATION', `node "${TREE_NODE}": missing, this is not a hygrocast boosted model`);
  const attr = (name: string): onnxproto.onnx.IAttributeProto => {
    const a = nd.attribute?.find((x) => x.name === name);
    if (!a) throw new ModelError('MODEL_CONTRACT_VIOLATION', `node "${TREE_NODE}": attribute ${name} missing`);
    return a;
  };
  const ints = (name: string): number[] => (attr(name).ints ?? []).map(Number);
  const floats = (name: string): number[] => attr(name).floats ?? [];
  const S = Number(attr('n_targets').i ?? 0);
  const base = floats('base_values');
  const modes = (attr('nodes_modes').strings ?? []).map((b) => new TextDecoder().decode(b));
  const [treeIds, nodeIds, featureIds, yes, no] = ['nodes_treeids', 'nodes_nodeids', 'nodes_featureids', 'nodes_truenodeids', 'nodes_falsenodeids'].map(ints) as [number[], number[], number[], number[], number[]];
  const values = floats('nodes_values');
  const trees = new Map<number, TreeNode[]>();
  const targetOf = new Map<number, number>();
  treeIds.forEach((tid, i) => {
    const tree = trees.get(tid) ?? [];
    trees.set(tid, tree);
    tree[nodeIds[i] ?? 0] = modes[i] === 'LEAF' ? { value: 0 } : { feature: featureIds[i] ?? 0, threshold: values[i] ?? 0, yes: yes[i] ?? 0, no: no[i] ?? 0 };
  });
  const [tIds, tNodes, tTrees] = ['target_ids', 'target_nodeids', 'target_treeids'].map(ints) as [number[], number[], number[]];
  floats('target_weights').forEach((wt, i) => {
    const tid = tTrees[i] ?? 0;
    const leaf = trees.get(tid)?.[tNodes[i] ?? 0];
    if (!leaf || !('value' in leaf)) throw new ModelError('MODEL_CONTRACT_VIOLATION', `node "${TREE_NODE}": target weight ${i} names no leaf`);
    leaf.value = wt;
    targetOf.set(tid, tIds[i] ?? 0);
  });
  const models: GbmModel[] = Array.from({ length: S }, (_, s) => ({ base: base[s] ?? 0, trees: [] }));
  for (const [tid, tree] of [...trees.entries()].sort((a, b) => a[0] - b[0])) models[targetOf.get(tid) ?? 0]?.trees.push(tree);
  const interp = initializerValues(model, 'boost_interp');
  if (!interp || interp.length !== S * H) throw new ModelError('MODEL_CONTRACT_VIOLATION', `initializer "boost_interp": missing or not ${S} x ${H}`);
  return { models, interp };
}

function concat(inputs: string[], output: string): onnxproto.onnx.INodeProto {
  return { ...node('Concat', inputs, [output]), attribute: [{ name: 'axis', type: onnxproto.onnx.AttributeProto.AttributeType.INT, i: 1 }] };
}

/** The neural member's nodes: from `features` and the boosted delta `boosted_delta` to `delta`. */
function neuralNodes(): onnxproto.onnx.INodeProto[] {
  return [
    node('MatMul', ['features', 'nn_w1'], ['nn_z']),
    node('Add', ['nn_z', 'nn_b1'], ['nn_pre']),
    node('Relu', ['nn_pre'], ['nn_hidden']),
    node('MatMul', ['nn_hidden', 'nn_w2'], ['nn_out']),
    node('Add', ['nn_out', 'nn_b2'], ['nn_delta']),
    node('Sub', ['nn_delta', 'boosted_delta'], ['nn_gap']),
    node('Mul', ['nn_gap', 'nn_mix'], ['nn_shift']),
    node('Add', ['boosted_delta', 'nn_shift'], ['delta']),
  ];
}

function neuralInitializers(n: NeuralStage, P: number, H: number): onnxproto.onnx.ITensorProto[] {
  return [floatTensor('nn_w1', [P, n.hidden], n.w1), floatTensor('nn_b1', [n.hidden], n.b1), floatTensor('nn_w2', [n.hidden, H], n.w2), floatTensor('nn_b2', [H], n.b2), floatTensor('nn_mix', [H], n.mix)];
}

function readNeural(model: onnxproto.onnx.ModelProto, P: number, H: number): NeuralStage {
  const get = (name: string): Float32Array => {
    const v = initializerValues(model, name);
    if (!v) throw new ModelError('MODEL_CONTRACT_VIOLATION', `initializer "${name}": missing, this is not a hygrocast ensemble model`);
    return v;
  };
  const b1 = get('nn_b1');
  const hidden = b1.length;
  const n = { hidden, w1: get('nn_w1'), b1, w2: get('nn_w2'), b2: get('nn_b2'), mix: get('nn_mix') };
  for (const [name, v, size] of [['nn_w1', n.w1, P * hidden], ['nn_w2', n.w2, hidden * H], ['nn_b2', n.b2, H], ['nn_mix', n.mix, H]] as const) {
    if (v.length !== size) throw new ModelError('MODEL_CONTRACT_VIOLATION', `initializer "${name}": ${v.length} values, expected ${size}`);
  }
  return n;
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
  const harmonics = harmonicNodes();
  return {
    graphName: w.neural ? ENSEMBLE_GRAPH_NAME : w.boost ? BOOSTED_GRAPH_NAME : FEATURE_GRAPH_NAME,
    ...(w.boost ? { extraOpsets: [{ domain: ML_DOMAIN, version: 1 }] } : {}),
    docString: 'Direct multi-horizon ridge on features computed in the graph (multi-scale trends, slope, same time yesterday, level, volatility, time-of-day interactions), shrunk toward persistence per horizon, with volatility-scaled conformal intervals. See models/feature-set.ts and docs/model-contract.md.',
    initializers: [
      int64Tensor('slice_starts', [1], [W - 1]),
      int64Tensor('slice_ends', [1], [W]),
      int64Tensor('axis_1', [1], [1]),
      int64Tensor('zero', [1], [0]),
      int64Tensor('one', [1], [1]),
      int64Tensor('two', [1], [2]),
      int64Tensor('n_means', [1], [l.meanSteps.length]),
      floatTensor('A', [W, l.linear], linearMatrix(l)),
      floatTensor('D', [W, V], differenceMatrix(l)),
      floatTensor('mean_v', [V, 1], new Float32Array(V).fill(1 / V)),
      floatTensor('W_f', [l.total, H], w.wF),
      floatTensor('b', [H], w.b),
      floatTensor('q_lo', [H], w.qLo),
      floatTensor('q_hi', [H], w.qHi),
      floatTensor('scale_floor', [], [w.scaleFloor]),
      ...(w.boost ? [floatTensor('boost_interp', [w.boost.models.length, H], w.boost.interp)] : []),
      ...(w.neural ? neuralInitializers(w.neural, l.total, H) : []),
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
      ...harmonics.nodes,
      concat(['lin', 'last', INPUT_TIME, 'vol', 't_last', 't_vol', 't_m1', 'means_last', 'means_vol', 'means_abs', ...harmonics.outputs], 'features'),
      node('MatMul', ['features', 'W_f'], ['delta_no_bias']),
      node('Add', ['delta_no_bias', 'b'], [w.boost ? 'ridge_delta' : 'delta']),
      ...(w.boost ? [treeEnsemble(w.boost), node('MatMul', ['tree_out', 'boost_interp'], ['tree_delta']), node('Add', ['ridge_delta', 'tree_delta'], [w.neural ? 'boosted_delta' : 'delta'])] : []),
      ...(w.neural ? neuralNodes() : []),
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
    ...(model.graph?.name === BOOSTED_GRAPH_NAME || model.graph?.name === ENSEMBLE_GRAPH_NAME ? { boost: readBoost(model, H) } : {}),
    ...(model.graph?.name === ENSEMBLE_GRAPH_NAME ? { neural: readNeural(model, total, H) } : {}),
  };
}
