import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../test/cleanups.ts';
import { freePort, testCentralConfig } from '../test/sync-helpers.ts';
import { localAddressOf, readSigningKey, signingKeyPath, startCentral } from './app.ts';
import { loadCentralConfig } from './config.ts';
import { centralHealthChecks } from './health.ts';
import { generateSigningKeys } from './manifest.ts';

/** Resolves when something can listen on `port` again (nothing left bound there). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('startCentral and the signing key', () => {
  const cleanups = cleanupAfterEach();

  function dataDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-app-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('refuses to start with a signing key file that is not a key, naming the file, and leaves nothing listening', async () => {
    const port = await freePort();
    const config = { ...testCentralConfig(port, dataDir()), retrainIntervalMs: 3_600_000 };
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(signingKeyPath(config), 'not a PEM\n');
    await expect(startCentral(config)).rejects.toMatchObject({ code: 'CENTRAL_CONFIG_INVALID', message: expect.stringContaining(signingKeyPath(config)) });
    expect(await canListen(port)).toBe(true);
  });

  it('starts with a good key, and without one (retraining off until keygen)', async () => {
    const withKey = { ...testCentralConfig(await freePort(), dataDir()), retrainIntervalMs: 3_600_000 };
    fs.writeFileSync(signingKeyPath(withKey), generateSigningKeys().privateKeyPem);
    const a = await startCentral(withKey);
    cleanups.push(() => a.stop());
    expect(readSigningKey(signingKeyPath(withKey))?.asymmetricKeyType).toBe('ed25519');
    const without = { ...testCentralConfig(await freePort(), dataDir()), retrainIntervalMs: 3_600_000 };
    const b = await startCentral(without);
    cleanups.push(() => b.stop());
    expect(readSigningKey(signingKeyPath(without))).toBeNull();
  });

  it('checks its own health at the address it is bound to, and refuses a retrain interval longer than a timer holds', async () => {
    const app = await startCentral(testCentralConfig(await freePort(), dataDir()));
    cleanups.push(() => app.stop());
    expect(app.localHost).toBe('127.0.0.1');
    const [http, storage] = centralHealthChecks(app);
    await expect(http!.run(AbortSignal.timeout(5000))).resolves.toMatchObject({ ok: true });
    await expect(storage!.run(AbortSignal.timeout(5000))).resolves.toMatchObject({ ok: true, detail: 'a write succeeded; 0 readings stored' });
    // A database that answers reads but refuses writes (read-only failover, full disk) fails the check.
    app.storage.writeHealthMark = () => Promise.reject(Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' }));
    await expect(storage!.run(AbortSignal.timeout(5000))).rejects.toThrow(/read-only/);
    // Bound to a LAN address the check must call that address (127.0.0.1 would be refused); a wildcard is reached on loopback.
    expect(localAddressOf('10.0.0.5')).toBe('10.0.0.5');
    expect(localAddressOf('0.0.0.0')).toBe('127.0.0.1');
    expect(localAddressOf('::')).toBe('::1');
    // 30 days is past Node's longest timer (24.8 days), which would fire every millisecond instead.
    expect(() => loadCentralConfig(undefined, { HYGROCAST_CENTRAL_ADMIN_TOKEN: 'x'.repeat(16), HYGROCAST_CENTRAL_RETRAIN_INTERVAL_MS: String(30 * 86_400_000) })).toThrow(/retrainIntervalMs/);
  });
});
