import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * What a gateway needs to decide whether to download, trust and run a model. Signed with Ed25519
 * over the canonical JSON (keys sorted, no whitespace) of every field except `signature`, so a
 * change to any field (metrics included) invalidates it.
 */
export interface ModelManifest {
  version: string;
  /** Hex SHA-256 of the ONNX artifact. */
  sha256: string;
  sizeBytes: number;
  contract: { contractVersion: string; stepS: number; windowSteps: number; horizonsS: number[]; intervalLevel: number };
  /** onnxruntime-node versions the artifact was checked with: minVersion <= v < maxVersionExclusive. */
  onnxruntime: { minVersion: string; maxVersionExclusive: string };
  /** Errors per horizon (e.g. 'mae_600': 0.41) measured by the central server. */
  metrics: Record<string, number>;
  signedAtMs: number;
  /** Base64 Ed25519 signature; absent on an unsigned manifest (which gateways refuse). */
  signature?: string;
}

export type UnsignedManifest = Omit<ModelManifest, 'signature'>;

/** JSON with object keys sorted at every level: the bytes that are signed. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function signManifest(manifest: UnsignedManifest, privateKey: KeyObject): ModelManifest {
  const { signature: _drop, ...fields } = manifest as ModelManifest;
  const signature = sign(null, Buffer.from(canonicalJson(fields)), privateKey).toString('base64');
  return { ...fields, signature };
}

/** True only for a manifest signed by the holder of `publicKey` and unchanged since. */
export function manifestSignatureValid(manifest: ModelManifest, publicKey: KeyObject): boolean {
  if (typeof manifest.signature !== 'string') return false;
  const { signature, ...fields } = manifest;
  try {
    return verify(null, Buffer.from(canonicalJson(fields)), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** A new Ed25519 key pair as PEM (PKCS#8 private, SPKI public: the one gateways pin). */
export function generateSigningKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

export function publicKeyFromPem(pem: string): KeyObject {
  return createPublicKey(pem);
}

/** Default onnxruntime-node range for models built by models/: the 1.x line from 1.20 on. */
export const DEFAULT_ORT_RANGE = { minVersion: '1.20.0', maxVersionExclusive: '2.0.0' };

/** The unsigned manifest of an artifact: hash and size of the bytes, contract fields, metrics. */
export function manifestFor(
  bytes: Uint8Array,
  contract: { contractVersion: string; modelVersion: string; stepS: number; windowSteps: number; horizonsS: number[]; intervalLevel: number },
  metrics: Record<string, number>,
  signedAtMs: number,
  onnxruntime = DEFAULT_ORT_RANGE,
): UnsignedManifest {
  const { contractVersion, stepS, windowSteps, horizonsS, intervalLevel } = contract;
  return { version: contract.modelVersion, sha256: sha256Hex(bytes), sizeBytes: bytes.length, contract: { contractVersion, stepS, windowSteps, horizonsS, intervalLevel }, onnxruntime, metrics, signedAtMs };
}
