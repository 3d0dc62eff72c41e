import { describe, expect, it } from 'vitest';
import { generateSigningKeys, manifestFor, privateKeyFromPem, publicKeyFromPem, signManifest, type ModelManifest } from '../../central/manifest.ts';
import { encodeModel } from '../../models/onnx-file.ts';
import { buildRidgeModel } from '../../models/ridge-onnx.ts';
import { nanModel, persistenceWeights, testContract } from '../../models/test-fixtures.ts';
import { runtimeVersion, verifyModel, versionInRange } from './model-verify.ts';

const keys = generateSigningKeys();
const other = generateSigningKeys();
const privateKey = privateKeyFromPem(keys.privateKeyPem);
const pinned = publicKeyFromPem(keys.publicKeyPem);
const T0 = Date.UTC(2026, 0, 1);

function goodModel(over: Parameters<typeof testContract>[0] = {}): { bytes: Uint8Array; manifest: ModelManifest } {
  const c = testContract(over);
  const bytes = encodeModel(buildRidgeModel(persistenceWeights(c.windowSteps, c.horizonsS.length), c));
  return { bytes, manifest: signManifest(manifestFor(bytes, c, { mae_600: 0.4 }, T0), privateKey) };
}

describe('verifyModel', () => {
  it('accepts a signed, intact, compatible model and returns its contract', async () => {
    const { bytes, manifest } = goodModel();
    expect((await verifyModel(manifest, bytes, pinned)).modelVersion).toBe('test-1');
  });

  it('rejects an unsigned manifest', async () => {
    const { bytes, manifest } = goodModel();
    const { signature: _s, ...unsigned } = manifest;
    await expect(verifyModel(unsigned, bytes, pinned)).rejects.toMatchObject({ code: 'MODEL_UNSIGNED' });
  });

  it('rejects a manifest signed by another key, or altered after signing', async () => {
    const { bytes, manifest } = goodModel();
    const forged = signManifest(manifest, privateKeyFromPem(other.privateKeyPem));
    await expect(verifyModel(forged, bytes, pinned)).rejects.toMatchObject({ code: 'MODEL_BAD_SIGNATURE' });
    await expect(verifyModel({ ...manifest, metrics: { mae_600: 0.01 } }, bytes, pinned)).rejects.toMatchObject({ code: 'MODEL_BAD_SIGNATURE' });
  });

  it('rejects a corrupted artifact (one flipped byte, or truncated)', async () => {
    const { bytes, manifest } = goodModel();
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 5]! ^= 0xff;
    await expect(verifyModel(manifest, flipped, pinned)).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/sha256/) });
    await expect(verifyModel(manifest, bytes.subarray(1), pinned)).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
  });

  it('rejects a contract-incompatible model even when it is properly signed', async () => {
    const { bytes, manifest } = goodModel({ contractVersion: '2' });
    await expect(verifyModel(manifest, bytes, pinned)).rejects.toMatchObject({ code: 'MODEL_CONTRACT_INCOMPATIBLE' });
    const good = goodModel();
    const lying = signManifest({ ...good.manifest, contract: { ...good.manifest.contract, windowSteps: 12 } }, privateKey);
    await expect(verifyModel(lying, good.bytes, pinned)).rejects.toMatchObject({ code: 'MODEL_CONTRACT_INCOMPATIBLE' });
  });

  it('rejects a model built for another onnxruntime range', async () => {
    const { bytes, manifest } = goodModel();
    const future = signManifest({ ...manifest, onnxruntime: { minVersion: '9.0.0', maxVersionExclusive: '10.0.0' } }, privateKey);
    await expect(verifyModel(future, bytes, pinned)).rejects.toMatchObject({ code: 'MODEL_RUNTIME_INCOMPATIBLE' });
    expect(versionInRange(runtimeVersion(), '1.20.0', '2.0.0')).toBe(true);
    expect(versionInRange('1.9.9', '1.20.0', '2.0.0')).toBe(false);
  });

  it('rejects a model that forecasts NaN', async () => {
    const c = testContract({ modelVersion: 'nan-1' });
    const bytes = encodeModel(nanModel(c));
    const manifest = signManifest(manifestFor(bytes, c, {}, T0), privateKey);
    await expect(verifyModel(manifest, bytes, pinned)).rejects.toMatchObject({ code: 'MODEL_NAN' });
  });
});
