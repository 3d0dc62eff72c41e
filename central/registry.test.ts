import { spawn } from 'node:child_process';
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
import { MAX_REGISTRY_ENTRIES, ModelRegistry, type RegistryEntry } from './registry.ts';
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

  it('keeps the production model when the size cap drops the oldest archived entries', () => {
    const dir = tmp();
    const reg = new ModelRegistry(dir);
    const prod = model('prod-v1');
    reg.addCandidate(prod.bytes, prod.contract, { mae_600: 0.5 }, key, T0);
    reg.promote('prod-v1', T0 + 1);
    // A registry at its cap whose oldest entry is the production model: the gate archived every later candidate.
    const [entry] = reg.list() as [RegistryEntry];
    const archived = Array.from({ length: MAX_REGISTRY_ENTRIES - 1 }, (_, i): RegistryEntry => ({ ...entry, version: `old-${i}`, stage: 'archived', history: [{ stage: 'archived', atMs: T0 + 2 + i }] }));
    fs.writeFileSync(path.join(dir, 'registry.json'), JSON.stringify({ models: [entry, ...archived] }));
    const next = model('next');
    reg.addCandidate(next.bytes, next.contract, { mae_600: 0.6 }, key, T0 + 5000);
    const after = reg.list();
    expect(after).toHaveLength(MAX_REGISTRY_ENTRIES);
    expect(reg.production()?.version).toBe('prod-v1');
    expect(after.map((e) => e.version)).not.toContain('old-0');
    expect(after.at(-1)?.version).toBe('next');
  });

  it('loses no entry when two processes write the registry at once', async () => {
    const dir = tmp();
    // Each child adds and archives 15 candidates through its own ModelRegistry, as the server's
    // retraining and an operator's `central publish` would.
    const script = `
      import { generateSigningKeys, privateKeyFromPem } from './central/manifest.ts';
      import { ModelRegistry } from './central/registry.ts';
      import { encodeModel } from './models/onnx-file.ts';
      import { buildRidgeModel } from './models/ridge-onnx.ts';
      import { persistenceWeights, testContract } from './models/test-fixtures.ts';
      const key = privateKeyFromPem(generateSigningKeys().privateKeyPem);
      const reg = new ModelRegistry(process.argv[1]);
      for (let i = 0; i < 15; i++) {
        const contract = testContract({ modelVersion: process.argv[2] + '-' + i });
        reg.addCandidate(encodeModel(buildRidgeModel(persistenceWeights(contract.windowSteps, contract.horizonsS.length), contract)), contract, {}, key, i);
        reg.archive(contract.modelVersion, i);
      }`;
    const run = (name: string) =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, name], { cwd: path.resolve(import.meta.dirname, '..') });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', () => resolve(err));
      });
    const errors = await Promise.all([run('a'), run('b')]);
    expect(errors).toEqual(['', '']);
    const versions = new ModelRegistry(dir).list().map((e) => e.version);
    expect(versions).toHaveLength(30);
    expect(versions.filter((v) => v.startsWith('a-'))).toHaveLength(15);
    expect(fs.existsSync(path.join(dir, 'registry.lock'))).toBe(false);
  }, 60_000);

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
