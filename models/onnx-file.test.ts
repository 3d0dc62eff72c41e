import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { contractToMetadata, METADATA_PREFIX, validateContract } from './contract.ts';
import type { TensorSignature } from './contract.ts';
import { readModelFile } from './onnx-file.ts';
import { buildRidgeModel } from './ridge-onnx.ts';
import { persistenceWeights, tempDir, testContract } from './test-fixtures.ts';
import type { TempDir } from './test-fixtures.ts';
import { ModelError } from './errors.ts';

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.remove();
});

const goodInputs = (): TensorSignature[] => [
  { name: 'rh', elemType: 'float32', dims: ['N', 6] },
  { name: 'time_features', elemType: 'float32', dims: ['N', 2] },
];
const goodOutputs = (): TensorSignature[] =>
  ['rh_forecast', 'rh_lower', 'rh_upper'].map((name) => ({ name, elemType: 'float32', dims: ['N', 3] }));

describe('readModelFile', () => {
  it('returns the metadata, signature and contract that were written', async () => {
    const c = testContract({ modelVersion: 'roundtrip-7', horizonsS: [600, 1200, 3600] });
    const file = await readModelFile(await tmp.write('ok.onnx', buildRidgeModel(persistenceWeights(6, 3), c)));
    expect(file.problems).toEqual([]);
    expect(file.metadata).toEqual(contractToMetadata(c));
    expect(file.metadata[`${METADATA_PREFIX}model_version`]).toBe('roundtrip-7');
    expect(file.contract).toEqual(c);
    expect(file.inputs).toEqual([
      { name: 'rh', elemType: 'float32', dims: ['N', 6] },
      { name: 'time_features', elemType: 'float32', dims: ['N', 2] },
    ]);
    expect(file.outputs.map((o) => [o.name, o.dims])).toEqual([
      ['rh_forecast', ['N', 3]],
      ['rh_lower', ['N', 3]],
      ['rh_upper', ['N', 3]],
    ]);
  });

  it('reports contract problems of a file without rejecting', async () => {
    const parts = buildRidgeModel(persistenceWeights(6, 3), testContract());
    delete parts.metadata[`${METADATA_PREFIX}step_s`];
    parts.metadata[`${METADATA_PREFIX}horizons_s`] = '600,600,1800';
    const file = await readModelFile(await tmp.write('broken.onnx', parts));
    expect(file.contract).toBeNull();
    expect(file.problems).toEqual([
      'metadata: missing key "hygrocast.step_s"',
      'metadata hygrocast.horizons_s: horizons not strictly increasing at position 1 (600 then 600)',
    ]);
  });

  it('rejects a file that is not an ONNX model with MODEL_READ_FAILED', async () => {
    const p = tmp.file('garbage.onnx');
    await writeFile(p, Buffer.from('this is not protobuf \xff\xff\xff\xff'));
    await expect(readModelFile(p)).rejects.toMatchObject({ code: 'MODEL_READ_FAILED' });
    await expect(readModelFile(tmp.file('missing.onnx'))).rejects.toBeInstanceOf(ModelError);
  });
});

describe('validateContract', () => {
  const meta = (): Record<string, string> => contractToMetadata(testContract());

  it('accepts a complete contract', () => {
    expect(validateContract(meta(), goodInputs(), goodOutputs())).toEqual([]);
  });

  it('names each broken metadata value', () => {
    const m = meta();
    m['hygrocast.contract_version'] = '2';
    m['hygrocast.step_s'] = '0';
    m['hygrocast.window_steps'] = 'many';
    m['hygrocast.interval_level'] = '80';
    m['hygrocast.trained_at'] = 'yesterday';
    m['hygrocast.validation_mae'] = '{not json';
    delete m['hygrocast.features'];
    const problems = validateContract(m, goodInputs(), goodOutputs());
    expect(problems).toEqual([
      'metadata: missing key "hygrocast.features"',
      'metadata hygrocast.contract_version: "2" is not supported (expected "1")',
      'metadata hygrocast.step_s: "0" is not a positive integer <= 604800',
      'metadata hygrocast.window_steps: "many" is not a positive integer <= 100000',
      'metadata hygrocast.interval_level: "80" is not a number strictly between 0 and 1',
      'metadata hygrocast.trained_at: "yesterday" is not an ISO 8601 time',
      'metadata hygrocast.validation_mae: not valid JSON',
    ]);
  });

  it('names horizons that do not increase or are not numbers', () => {
    const m = meta();
    m['hygrocast.horizons_s'] = '1200,600';
    expect(validateContract(m, goodInputs(), goodOutputs())).toEqual(['metadata hygrocast.horizons_s: horizons not strictly increasing at position 1 (1200 then 600)']);
    m['hygrocast.horizons_s'] = '600,,1800';
    expect(validateContract(m, goodInputs(), goodOutputs())[0]).toMatch(/horizons_s: "600,,1800" is not a comma-separated list/);
  });

  it('names horizons between steps and per-horizon maps that do not match the horizons', () => {
    const m = meta();
    const [first, ...rest] = m['hygrocast.horizons_s']!.split(',');
    m['hygrocast.horizons_s'] = [Number(first) + 1, ...rest].join(',');
    const problems = validateContract(m, goodInputs(), goodOutputs());
    expect(problems[0]).toBe(`metadata hygrocast.horizons_s: ${Number(first) + 1} not a multiple of step_s (${m['hygrocast.step_s']})`);
    const n = meta();
    const mae = JSON.parse(n['hygrocast.validation_mae']!) as Record<string, number>;
    delete mae[first!];
    mae['999999'] = 1;
    n['hygrocast.validation_mae'] = JSON.stringify(mae);
    n['hygrocast.interval_coverage'] = '{}';
    expect(validateContract(n, goodInputs(), goodOutputs())).toEqual([
      `metadata hygrocast.validation_mae: needs one entry per horizon in horizons_s (missing ${first}; not a horizon: 999999)`,
      `metadata hygrocast.interval_coverage: needs one entry per horizon in horizons_s (missing ${n['hygrocast.horizons_s']!.split(',').join(', ')})`,
    ]);
  });

  it('names wrong input and output names, types and shapes', () => {
    const inputs = goodInputs();
    inputs[0] = { name: 'humidity', elemType: 'float32', dims: ['N', 6] };
    inputs[1] = { name: 'time_features', elemType: 'float64', dims: ['N', 3] };
    const outputs = goodOutputs().slice(0, 2);
    outputs[0] = { name: 'rh_forecast', elemType: 'float32', dims: ['N', 4] };
    expect(validateContract(meta(), inputs, outputs)).toEqual([
      'input "humidity": not part of the contract (inputs are rh, time_features), the gateway cannot feed it',
      'input "rh": missing (found "humidity", "time_features")',
      'input "time_features": element type float64, expected float32',
      'input "time_features": shape [N, 3], second axis must be 2',
      'output "rh_forecast": shape [N, 4], second axis must be 3',
      'output "rh_upper": missing (found "rh_forecast", "rh_lower")',
    ]);
  });

  it('accepts symbolic or unknown widths and rejects a wrong rank', () => {
    const inputs = goodInputs();
    inputs[0] = { name: 'rh', elemType: 'float32', dims: [null, 'W'] };
    expect(validateContract(meta(), inputs, goodOutputs())).toEqual([]);
    inputs[0] = { name: 'rh', elemType: 'float32', dims: ['N', 6, 1] };
    expect(validateContract(meta(), inputs, goodOutputs())).toEqual(['input "rh": rank 3 [N, 6, 1], expected rank 2 [N, 6]']);
  });
});
