import type onnxproto from 'onnx-proto';
import { RH_MAX, RH_MIN } from '../firmware-bridge/messages.ts';
import { contractToMetadata, INPUT_RH, INPUT_TIME, OUTPUT_FORECAST, OUTPUT_LOWER, OUTPUT_UPPER } from './contract.ts';
import type { ModelContract } from './contract.ts';
import { floatTensor, floatValueInfo, node } from './onnx-file.ts';

/**
 * The part of the graph every model kind shares with the contract (docs/model-contract.md):
 * the two inputs, the three outputs, the metadata, and the final Clip of the point forecast
 * (`y`) and interval bounds (`y_lo`, `y_hi`) to the physical range 0..100 %RH. A model builder
 * computes `y`, `y_lo` and `y_hi` and spreads these pieces into its ModelParts.
 */
export function contractGraph(contract: ModelContract): {
  clipInitializers: onnxproto.onnx.ITensorProto[];
  clipNodes: onnxproto.onnx.INodeProto[];
  inputs: onnxproto.onnx.IValueInfoProto[];
  outputs: onnxproto.onnx.IValueInfoProto[];
  metadata: Record<string, string>;
} {
  const W = contract.windowSteps;
  const H = contract.horizonsS.length;
  return {
    clipInitializers: [floatTensor('clip_min', [], [RH_MIN]), floatTensor('clip_max', [], [RH_MAX])],
    clipNodes: [
      node('Clip', ['y', 'clip_min', 'clip_max'], [OUTPUT_FORECAST]),
      node('Clip', ['y_lo', 'clip_min', 'clip_max'], [OUTPUT_LOWER]),
      node('Clip', ['y_hi', 'clip_min', 'clip_max'], [OUTPUT_UPPER]),
    ],
    inputs: [floatValueInfo(INPUT_RH, ['N', W]), floatValueInfo(INPUT_TIME, ['N', 2])],
    outputs: [OUTPUT_FORECAST, OUTPUT_LOWER, OUTPUT_UPPER].map((name) => floatValueInfo(name, ['N', H])),
    metadata: contractToMetadata(contract),
  };
}
