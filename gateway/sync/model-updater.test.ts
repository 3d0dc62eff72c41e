import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../../central/app.ts';
import { generateSigningKeys, manifestFor, privateKeyFromPem, signManifest } from '../../central/manifest.ts';
import { encodeModel } from '../../models/onnx-file.ts';
import { buildRidgeModel } from '../../models/ridge-onnx.ts';
import { persistenceWeights, testContract } from '../../models/test-fixtures.ts';
import { pumpBody, registerGateway, SYNC_ADMIN_TOKEN, testCentralConfig } from '../../test/sync-helpers.ts';
import { ModelUpdater } from './model-updater.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

const keys = generateSigningKeys();
const key = privateKeyFromPem(keys.privateKeyPem);

function model(version: string): { bytes: Uint8Array; contract: ReturnType<typeof testContract> } {
  const contract = testContract({ modelVersion: version });
  return { bytes: encodeModel(buildRidgeModel(persistenceWeights(contract.windowSteps, contract.horizonsS.length), contract)), contract };
}

describe('ModelUpdater', () => {
  const cleanups = cleanupAfterEach();

  /** A central server with gateway "gw" registered, and the gateway's models folder (not created yet). */
  async function setup(): Promise<{ dir: string; central: CentralApp; token: string; gatewayModels: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-updater-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const central = await startCentral(testCentralConfig(0, path.join(dir, 'central')));
    cleanups.push(() => central.stop());
    return { dir, central, token: await registerGateway(central.port, 'gw'), gatewayModels: path.join(dir, 'gateway-models') };
  }

  it('pulls a changed model, verifies it, keeps the previous one, refuses a corrupted one and reports each outcome', async () => {
    const { dir, central, token, gatewayModels } = await setup();
    const updater = new ModelUpdater({ url: `http://127.0.0.1:${central.port}`, token, pinnedPublicKeyPem: keys.publicKeyPem, modelsDir: gatewayModels });

    expect(await updater.check()).toEqual({ kind: 'none' });
    const v1 = model('v1');
    central.registry.addCandidate(v1.bytes, v1.contract, {}, key, 1);
    central.registry.promote('v1', 2);
    expect(await updater.check()).toMatchObject({ kind: 'verified', version: 'v1' });
    expect(await updater.check()).toEqual({ kind: 'unchanged' });

    const v2 = model('v2');
    central.registry.addCandidate(v2.bytes, v2.contract, {}, key, 3);
    central.registry.promote('v2', 4);
    const artifact = path.join(dir, 'central', 'models', 'v2.onnx');
    const damaged = fs.readFileSync(artifact);
    damaged[damaged.length - 3]! ^= 0x55;
    fs.writeFileSync(artifact, damaged);
    expect(await updater.check()).toMatchObject({ kind: 'rejected', version: 'v2', code: 'MODEL_CORRUPT' });

    expect(fs.readdirSync(gatewayModels).sort()).toEqual(['v1.manifest.json', 'v1.onnx']);
    expect(Buffer.compare(fs.readFileSync(path.join(gatewayModels, 'v1.onnx')), Buffer.from(v1.bytes))).toBe(0);
    const reports = await central.storage.reports('gw', 10);
    expect(reports.map((r) => [r.modelVersion, r.outcome])).toEqual([
      ['v2', 'rejected_model_corrupt'],
      ['v1', 'verified'],
    ]);
  });

  it('downloads again a model torn on disk (a power cut), instead of keeping it as unchanged', async () => {
    const { central, token, gatewayModels } = await setup();
    const options = { url: `http://127.0.0.1:${central.port}`, token, pinnedPublicKeyPem: keys.publicKeyPem, modelsDir: gatewayModels };
    const v1 = model('v1');
    central.registry.addCandidate(v1.bytes, v1.contract, {}, key, 1);
    central.registry.promote('v1', 2);
    expect(await new ModelUpdater(options).check()).toMatchObject({ kind: 'verified', version: 'v1' });

    // The file kept its name but lost its tail; the restarted gateway asks again (no ETag yet).
    const onDisk = path.join(gatewayModels, 'v1.onnx');
    fs.truncateSync(onDisk, 100);
    const restarted = new ModelUpdater(options);
    expect(await restarted.check()).toMatchObject({ kind: 'verified', version: 'v1' });
    expect(Buffer.compare(fs.readFileSync(onDisk), Buffer.from(v1.bytes))).toBe(0);
    expect(await restarted.check()).toEqual({ kind: 'unchanged' });
  });

  it('downloads no more than the signed size, and nothing for a manifest the pinned key did not sign', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-updater-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const m = model('big-v1');
    let manifest: unknown = signManifest(manifestFor(m.bytes, m.contract, {}, Date.UTC(2026, 0, 1)), key);
    let artifactRequests = 0;
    let artifactBody = null as { sent(): number } | null;
    // A server (hostile or broken) that streams 64 MiB, chunked with no length, for a model signed at its true size.
    const server = http.createServer((req, res) => {
      if (req.url === '/v1/models/manifest') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(manifest));
      if (req.url === '/v1/reports') return void res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":1}');
      artifactRequests++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      artifactBody = pumpBody(res, 64 * 1024 * 1024);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (socket) => cleanups.push(() => socket.destroy()));
    const options = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't', pinnedPublicKeyPem: keys.publicKeyPem, modelsDir: path.join(dir, 'models') };

    const outcome = await new ModelUpdater(options).check();
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'MODEL_CORRUPT', message: expect.stringContaining(`longer than the ${m.bytes.length} bytes the manifest signed`) });
    expect(artifactBody?.sent()).toBeLessThan(16 * 1024 * 1024);
    expect(fs.existsSync(path.join(dir, 'models', 'big-v1.onnx'))).toBe(false);

    manifest = { ...signManifest(manifestFor(m.bytes, { ...m.contract, modelVersion: 'big-v2' }, {}, Date.UTC(2026, 0, 1)), key), signature: '' };
    artifactRequests = 0;
    await expect(new ModelUpdater(options).check()).resolves.toMatchObject({ kind: 'rejected', code: 'MODEL_UNSIGNED' });
    expect(artifactRequests).toBe(0);
  });

  it('rejects with the uplink\'s SyncError codes: an error answer, and no server at all', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-updater-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const central: CentralApp = await startCentral(testCentralConfig(0, path.join(dir, 'central')));
    const url = `http://127.0.0.1:${central.port}`;
    const options = { url, token: 'not-a-token', pinnedPublicKeyPem: keys.publicKeyPem, modelsDir: path.join(dir, 'gateway-models') };
    await expect(new ModelUpdater(options).check()).rejects.toMatchObject({ name: 'SyncError', code: 'SYNC_REJECTED', message: expect.stringContaining('401') });
    await central.stop();
    await expect(new ModelUpdater(options).check()).rejects.toMatchObject({ name: 'SyncError', code: 'SYNC_UNREACHABLE', message: expect.stringContaining('ECONNREFUSED') });
  });
});
