import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../central/app.ts';
import { SqliteCentralStorage } from '../central/storage/sqlite-storage.ts';
import { systemClock } from '../gateway/clock.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import { HttpSyncTransport } from '../gateway/sync/http-transport.ts';
import { SyncUplink } from '../gateway/sync/uplink.ts';
import { backlogReading, freePort, registerGateway, SYNC_ADMIN_TOKEN, testCentralConfig, until } from './sync-helpers.ts';
import { cleanupAfterEach } from './cleanups.ts';

const READINGS = 40_000;
const repoRoot = path.resolve(import.meta.dirname, '..');

function fillStore(dataDir: string): void {
  const store = new SqliteStore({ dataDir, syncEnabled: true, retentionBytes: null });
  for (let i = 0; i < READINGS; i++) store.append(backlogReading(i));
  store.close();
}

function spawnTsx(script: string, env: Record<string, string>): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  // One process (node with tsx's loader), not the tsx CLI, which would leave its child running after SIGKILL.
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (code !== 0 && code !== null && stderr) console.error(stderr);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

describe('sync survives SIGKILL', () => {
  const cleanups = cleanupAfterEach();
  const tempDir = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-kill-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  it('the gateway killed in the middle of sync, then restarted: every reading exactly once', async () => {
    const dir = tempDir();
    const port = await freePort();
    const central: CentralApp = await startCentral(testCentralConfig(port, path.join(dir, 'central')));
    cleanups.push(() => central.stop());
    const token = await registerGateway(port, 'gw-kill');
    const gatewayDir = path.join(dir, 'gateway');
    fillStore(gatewayDir);
    const env = { HYGROCAST_DATA_DIR: gatewayDir, HYGROCAST_SYNC_URL: `http://127.0.0.1:${port}`, HYGROCAST_SYNC_TOKEN: token, HYGROCAST_SYNC_BATCH: '500' };

    const first = spawnTsx('test/sync-gateway-child.ts', env);
    cleanups.push(() => void first.child.kill('SIGKILL'));
    await until(async () => (await central.storage.countReadings()) >= 5000, 30_000, 'the first gateway to sync some readings');
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = await central.storage.countReadings();
    expect(atKill).toBeLessThan(READINGS);

    const second = spawnTsx('test/sync-gateway-child.ts', env);
    cleanups.push(() => void second.child.kill('SIGKILL'));
    expect(await second.exited).toBe(0);
    expect(await central.storage.countReadings('gw-kill')).toBe(READINGS);
  }, 90_000);

  it('the central server killed in the middle of ingest, then restarted: every reading exactly once', async () => {
    const dir = tempDir();
    const port = await freePort();
    const env = { HYGROCAST_CENTRAL_PORT: String(port), HYGROCAST_CENTRAL_HOST: '127.0.0.1', HYGROCAST_CENTRAL_DATA_DIR: path.join(dir, 'central'), HYGROCAST_CENTRAL_ADMIN_TOKEN: SYNC_ADMIN_TOKEN };
    const startServer = async () => {
      const s = spawnTsx('central/main.ts', env);
      cleanups.push(() => void s.child.kill('SIGKILL'));
      await until(() => s.lines.some((l) => l.includes('"listening"')), 30_000, 'the central server to listen');
      return s;
    };
    let server = await startServer();
    const token = await registerGateway(port, 'gw-kill');
    const gatewayDir = path.join(dir, 'gateway');
    fillStore(gatewayDir);
    const store = new SqliteStore({ dataDir: gatewayDir, syncEnabled: true, retentionBytes: null });
    cleanups.push(() => store.close());
    const transport = new HttpSyncTransport({ url: `http://127.0.0.1:${port}`, token });
    cleanups.push(() => transport.close());
    const uplink = new SyncUplink({ source: store, transport, clock: systemClock, batchSize: 500, statusIntervalMs: 100, backoffCapMs: 1000 });
    cleanups.push(() => uplink.stop());
    uplink.start();

    await until(() => uplink.snapshot().syncedTotal >= 5000, 30_000, 'some readings to sync');
    server.child.kill('SIGKILL');
    await server.exited;
    expect(uplink.snapshot().syncedTotal).toBeLessThan(READINGS);
    server = await startServer();
    await until(() => store.unsyncedBacklog().count === 0, 60_000, 'the backlog to drain');
    await uplink.stop();
    server.child.kill('SIGTERM');
    await server.exited;

    const check = new SqliteCentralStorage({ dataDir: path.join(dir, 'central') });
    await check.start();
    try {
      expect(await check.countReadings('gw-kill')).toBe(READINGS);
    } finally {
      await check.close();
    }
  }, 90_000);
});
