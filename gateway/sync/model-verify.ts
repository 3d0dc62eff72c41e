import { createRequire } from 'node:module';
import type { KeyObject } from 'node:crypto';
import ort from 'onnxruntime-node';
import { manifestSignatureValid, sha256Hex, type ModelManifest } from '../../central/manifest.ts';
import { CONTRACT_VERSION, type ModelContract } from '../../models/contract.ts';
import { decodeModel, describeModel, MAX_MODEL_BYTES } from '../../models/onnx-file.ts';
import { runBatch, SESSION_OPTIONS } from '../../models/ort-run.ts';
import { CodedError } from '../coded-error.ts';

export type ModelVerifyCode =
  | 'MODEL_UNSIGNED' // the manifest carries no signature
  | 'MODEL_BAD_SIGNATURE' // signed, but not by the pinned key, or altered since
  | 'MODEL_CORRUPT' // the artifact's size or sha256 differs from the signed manifest
  | 'MODEL_CONTRACT_INCOMPATIBLE' // the file breaks the contract or disagrees with the manifest
  | 'MODEL_RUNTIME_INCOMPATIBLE' // this onnxruntime-node is outside the manifest's range, or refuses the file
  | 'MODEL_NAN'; // the model produces non-finite forecasts on a smoke input

export class ModelVerifyError extends CodedError<ModelVerifyCode> {
  override readonly name = 'ModelVerifyError';
}

/** The onnxruntime-node version this gateway runs. */
export function runtimeVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}

/**
 * The checks that need only the manifest: signed by the pinned key, and a size this gateway takes.
 * Run before the artifact is downloaded, so an unsigned or oversized model costs no download and
 * the signed size bounds the download.
 */
export function verifyManifest(manifest: ModelManifest, pinnedKey: KeyObject): void {
  if (typeof manifest.signature !== 'string' || manifest.signature === '') throw new ModelVerifyError('MODEL_UNSIGNED', `model ${manifest.version}: the manifest is not signed`);
  if (!manifestSignatureValid(manifest, pinnedKey)) throw new ModelVerifyError('MODEL_BAD_SIGNATURE', `model ${manifest.version}: the signature does not match the pinned public key`);
  if (!Number.isSafeInteger(manifest.sizeBytes) || manifest.sizeBytes < 1 || manifest.sizeBytes > MAX_MODEL_BYTES) {
    throw new ModelVerifyError('MODEL_CORRUPT', `model ${manifest.version}: the manifest's size ${manifest.sizeBytes} bytes is not 1 to ${MAX_MODEL_BYTES}`);
  }
}

/**
 * Checks a downloaded model before it may run, cheapest and most decisive first: signature
 * against the pinned key (nothing else in the manifest is trusted before that), then size and
 * sha256 of the bytes, then the contract in the file against the manifest and this gateway,
 * then the runtime range, then one smoke run that must give finite numbers. Rejects with a
 * ModelVerifyError; resolves with the file's contract.
 */
export async function verifyModel(manifest: ModelManifest, bytes: Uint8Array, pinnedKey: KeyObject, runtime = runtimeVersion()): Promise<ModelContract> {
  verifyManifest(manifest, pinnedKey);
  if (bytes.length !== manifest.sizeBytes || bytes.length > MAX_MODEL_BYTES) {
    throw new ModelVerifyError('MODEL_CORRUPT', `model ${manifest.version}: ${bytes.length} bytes, the manifest says ${manifest.sizeBytes}`);
  }
  const sha = sha256Hex(bytes);
  if (sha !== manifest.sha256) throw new ModelVerifyError('MODEL_CORRUPT', `model ${manifest.version}: sha256 ${sha} differs from the manifest's ${manifest.sha256}`);

  let file;
  try {
    file = describeModel(decodeModel(bytes));
  } catch (err) {
    throw new ModelVerifyError('MODEL_CONTRACT_INCOMPATIBLE', `model ${manifest.version}: ${(err as Error).message}`);
  }
  const c = file.contract;
  if (c === null) throw new ModelVerifyError('MODEL_CONTRACT_INCOMPATIBLE', `model ${manifest.version}: ${file.problems.join('; ')}`);
  const m = manifest.contract;
  if (m.contractVersion !== CONTRACT_VERSION || c.stepS !== m.stepS || c.windowSteps !== m.windowSteps || c.horizonsS.join(',') !== m.horizonsS.join(',')) {
    throw new ModelVerifyError('MODEL_CONTRACT_INCOMPATIBLE', `model ${manifest.version}: contract ${m.contractVersion} (step ${m.stepS} s, window ${m.windowSteps}) does not match the file or this gateway (contract ${CONTRACT_VERSION})`);
  }
  if (!versionInRange(runtime, manifest.onnxruntime.minVersion, manifest.onnxruntime.maxVersionExclusive)) {
    throw new ModelVerifyError('MODEL_RUNTIME_INCOMPATIBLE', `model ${manifest.version} needs onnxruntime ${manifest.onnxruntime.minVersion} to below ${manifest.onnxruntime.maxVersionExclusive}; this gateway has ${runtime}`);
  }
  await smokeRun(bytes, c, manifest.version);
  return c;
}

async function smokeRun(bytes: Uint8Array, c: ModelContract, version: string): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    throw new ModelVerifyError('MODEL_RUNTIME_INCOMPATIBLE', `model ${version}: onnxruntime refuses it: ${(err as Error).message}`);
  }
  try {
    const out = await runBatch(session, c.windowSteps, new Float32Array(c.windowSteps).fill(50), new Float32Array([0, 1]));
    for (const arr of [out.forecast, out.lower, out.upper]) {
      if (!arr.every(Number.isFinite)) throw new ModelVerifyError('MODEL_NAN', `model ${version}: non-finite forecast on a flat 50 %RH window`);
    }
  } catch (err) {
    if (err instanceof ModelVerifyError) throw err;
    throw new ModelVerifyError('MODEL_RUNTIME_INCOMPATIBLE', `model ${version}: the smoke run failed: ${(err as Error).message}`);
  } finally {
    await session.release();
  }
}

/** minVersion <= version < maxVersionExclusive on dotted numeric versions (pre-release tags ignored). */
export function versionInRange(version: string, minVersion: string, maxVersionExclusive: string): boolean {
  return compareVersions(version, minVersion) >= 0 && compareVersions(version, maxVersionExclusive) < 0;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('-')[0]!.split('.').map(Number);
  const pb = b.split('-')[0]!.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
