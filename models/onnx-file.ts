import { readFile, writeFile } from 'node:fs/promises';
import onnxproto from 'onnx-proto';
import { checkContract } from './contract.ts';
import type { ModelContract, TensorSignature } from './contract.ts';
import { ModelError } from './errors.ts';

/**
 * ONNX files built and read with ONNX's published schema (onnx.proto compiled by protobufjs,
 * package onnx-proto), never hand-assembled bytes. onnxruntime-node does not expose
 * metadata_props, so the gateway decodes the file itself with this same schema to read the
 * contract.
 */
const { onnx } = onnxproto;
export { onnx };

/** IR version 8 with opset 17 of the default domain: loads in onnxruntime 1.14 and later. */
export const IR_VERSION = 8;
export const OPSET_VERSION = 17;
/** Refuse model files larger than this before decoding (the shipped ensemble is about 600 kB; 64 MiB is generous). */
export const MAX_MODEL_BYTES = 64 * 1024 * 1024;

const ELEM_TYPES: Record<number, string> = {
  [onnx.TensorProto.DataType.FLOAT]: 'float32',
  [onnx.TensorProto.DataType.DOUBLE]: 'float64',
  [onnx.TensorProto.DataType.INT64]: 'int64',
  [onnx.TensorProto.DataType.INT32]: 'int32',
  [onnx.TensorProto.DataType.FLOAT16]: 'float16',
  [onnx.TensorProto.DataType.BOOL]: 'bool',
  [onnx.TensorProto.DataType.STRING]: 'string',
};

/** A float32 initializer, stored as raw little-endian bytes as the ONNX exporters do. */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnxproto.onnx.ITensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (values.length !== expected) throw new RangeError(`tensor "${name}": ${values.length} values for dims [${dims.join(', ')}]`);
  const data = Float32Array.from(values);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnxproto.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

export function node(opType: string, inputs: string[], outputs: string[], name = outputs[0] ?? opType): onnxproto.onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name };
}

/** A float32 graph input/output; a string dim is symbolic (e.g. the batch axis "N"). */
export function floatValueInfo(name: string, dims: (number | string)[]): onnxproto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface ModelParts {
  graphName: string;
  nodes: onnxproto.onnx.INodeProto[];
  initializers: onnxproto.onnx.ITensorProto[];
  inputs: onnxproto.onnx.IValueInfoProto[];
  outputs: onnxproto.onnx.IValueInfoProto[];
  /** metadata_props, written in key order. */
  metadata: Record<string, string>;
  docString?: string;
  /** Operator sets beyond the default domain's (e.g. ai.onnx.ml for tree ensembles). */
  extraOpsets?: { domain: string; version: number }[];
}

/** Encodes a complete ModelProto (IR 8, opset 17) to bytes. */
export function encodeModel(parts: ModelParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }, ...(parts.extraOpsets ?? [])],
    producerName: 'hygrocast',
    producerVersion: '1',
    docString: parts.docString ?? '',
    graph: {
      name: parts.graphName,
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
    },
    metadataProps: Object.entries(parts.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

export async function writeModelFile(path: string, parts: ModelParts): Promise<void> {
  await writeFile(path, encodeModel(parts));
}

export interface ModelFile {
  /** The parsed contract, or null when `problems` is not empty. */
  contract: ModelContract | null;
  /** Every contract violation (see validateContract). */
  problems: string[];
  /** All metadata_props, keys as written. */
  metadata: Record<string, string>;
  /** Graph inputs that are not initializers. */
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

/** Reads an ONNX file and its contract. Rejects with MODEL_READ_FAILED only when it cannot be decoded. */
export async function readModelFile(path: string): Promise<ModelFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ModelError('MODEL_READ_FAILED', `cannot read model file ${path}: ${(err as Error).message}`, [], { cause: err });
  }
  if (bytes.length > MAX_MODEL_BYTES) {
    throw new ModelError('MODEL_READ_FAILED', `model file ${path} is ${bytes.length} bytes, more than the ${MAX_MODEL_BYTES} byte limit`);
  }
  return describeModel(decodeModel(bytes, path));
}

export function decodeModel(bytes: Uint8Array, path = '<bytes>'): onnxproto.onnx.ModelProto {
  try {
    const model = onnx.ModelProto.decode(bytes);
    if (!model.graph) throw new Error('no graph');
    return model;
  } catch (err) {
    throw new ModelError('MODEL_READ_FAILED', `model file ${path} is not an ONNX model: ${(err as Error).message}`, [], { cause: err });
  }
}

/** Metadata, signature and contract check of a decoded model. */
export function describeModel(model: onnxproto.onnx.ModelProto): ModelFile {
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps) metadata[p.key ?? ''] = p.value ?? '';
  const graph = model.graph;
  const initNames = new Set((graph?.initializer ?? []).map((t) => t.name));
  // Older exporters list initializers among the inputs too; they are not fed by the caller.
  const inputs = (graph?.input ?? []).filter((v) => !initNames.has(v.name ?? '')).map(signature);
  const outputs = (graph?.output ?? []).map(signature);
  const { contract, problems } = checkContract(metadata, inputs, outputs);
  return { contract, problems, metadata, inputs, outputs };
}

function signature(v: onnxproto.onnx.IValueInfoProto): TensorSignature {
  const tensor = v.type?.tensorType;
  const elemType = tensor?.elemType == null ? 'unknown' : (ELEM_TYPES[tensor.elemType] ?? `onnx-type-${tensor.elemType}`);
  const dims = (tensor?.shape?.dim ?? []).map((d): number | string | null => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue != null && Number(d.dimValue) > 0) return Number(d.dimValue);
    return null;
  });
  return { name: v.name ?? '', elemType, dims };
}

/** Float32 values of a named initializer (raw_data or float_data), or null when absent. */
export function initializerValues(model: onnxproto.onnx.ModelProto, name: string): Float32Array | null {
  const t = model.graph?.initializer?.find((x) => x.name === name);
  if (!t) return null;
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}
