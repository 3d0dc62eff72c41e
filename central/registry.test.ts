import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import { encodeModel } from '../models/onnx-file.ts';
import { buildRidgeModel } from '../models/ridge-onnx.ts';
import { persistenceWeights, testContract } from '../models/test-fixtures.ts';
import { hashToken } from './auth.ts';
import { generateSigningKeys, manifestSignatureValid, privateKeyFromPem, publicKeyFromPem } from './manifest.ts';
import { ModelRegistry } from './registry.ts';
import { buildCentralServer } from './server.ts';
import { SqliteCentralStorage } from './storage/sqlite-storage.ts';

const keys = generateSigningKeys();
const key = privateKeyFromPem(keys.privateKeyPem);
const T0 = Date.UTC(2026, 0, 1);
const model = (version: string): { bytes: Uint8Array; contract: ReturnType<typeof testContract> } => {
  const contract = testContract({ modelVersion: version });
  return { bytes: encodeModel(buildRidgeModel(persistenceWeights(contract.windowSteps, contract.horizonsS.length), contract)), contract };
};

describe('model registry and model routes', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-registry-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('keeps stages and their history; promoting archives the previous production model', () => {
    const reg = new ModelRegistry(tmp());
    const a = model('v1');
    reg.addCandidate(a.bytes, a.contract, { mae_600: 0.5 }, key, T0);
    reg.promote('v1', T0 + 1);
    const b = model('v2');
    reg.addCandidate(b.bytes, b.contract, { mae_600: 0.4 }, key, T0 + 2);
    reg.promote('v2', T0 + 3);
    expect(reg.list().map((e) => [e.version, e.stage])).toEqual([
      ['v1', 'archived'],
      ['v2', 'production'],
    ]);
    expect(reg.list()[0]?.history.map((h) => h.stage)).toEqual(['candidate', 'production', 'archived']);
    expect(manifestSignatureValid(reg.production()!.manifest, publicKeyFromPem(keys.publicKeyPem))).toBe(true);
    expect(() => reg.addCandidate(b.bytes, b.contract, {}, key, T0)).toThrow(/already/);
    expect(() => reg.promote('nope', T0)).toThrow(/no model nope/);
  });

  it('serves the manifest and artifact with ETags and answers 304 to a matching If-None-Match', async () => {
    const dir = tmp();
    const storage = new SqliteCentralStorage({ dataDir: dir });
    await storage.start();
    const registry = new ModelRegistry(path.join(dir, 'models'));
    const app = await buildCentralServer({ storage, adminToken: 'admin-token-0123456789', clock: new ManualClock(), registry });
    try {
      const token = 'gateway-token-0123456789abcdef';
      await storage.registerGateway('gw', hashToken(token), T0);
      const auth = { authorization: `Bearer ${token}` };
      expect((await app.inject({ url: '/v1/models/manifest', headers: auth })).statusCode).toBe(404);
      expect((await app.inject({ url: '/v1/models/manifest' })).statusCode).toBe(401);
      const m = model('v1');
      registry.addCandidate(m.bytes, m.contract, {}, key, T0);
      registry.promote('v1', T0);

      const first = await app.inject({ url: '/v1/models/manifest', headers: auth });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ version: 'v1', sizeBytes: m.bytes.length });
      const etag = String(first.headers.etag);
      expect((await app.inject({ url: '/v1/models/manifest', headers: { ...auth, 'if-none-match': etag } })).statusCode).toBe(304);

      const art = await app.inject({ url: '/v1/models/v1/artifact', headers: auth });
      expect(art.statusCode).toBe(200);
      expect(Buffer.compare(art.rawPayload, Buffer.from(m.bytes))).toBe(0);
      expect((await app.inject({ url: '/v1/models/v1/artifact', headers: { ...auth, 'if-none-match': String(art.headers.etag) } })).statusCode).toBe(304);

      const m2 = model('v2');
      registry.addCandidate(m2.bytes, m2.contract, {}, key, T0);
      registry.promote('v2', T0);
      const changed = await app.inject({ url: '/v1/models/manifest', headers: { ...auth, 'if-none-match': etag } });
      expect(changed.statusCode).toBe(200);
      expect(changed.json()).toMatchObject({ version: 'v2' });
    } finally {
      await app.close();
      await storage.close();
    }
  });
});
