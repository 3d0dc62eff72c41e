import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../../central/app.ts';
import { backlogReading, freePort, registerGateway, SYNC_ADMIN_TOKEN, testCentralConfig, until } from '../../test/sync-helpers.ts';
import { systemClock } from '../clock.ts';
import { loadConfig } from '../config/load.ts';
import { GatewayBus } from '../events.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { startSync } from './start-sync.ts';
import type { SyncStatus } from './sync-types.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

describe('sync config and wiring', () => {
  const cleanups = cleanupAfterEach();

  it('is off by default and refuses sync.enabled without a token, naming the key', () => {
    expect(loadConfig({ env: {} }).sync).toMatchObject({ enabled: false, batchSize: 2000, maxBytesPerSecond: 0 });
    expect(() => loadConfig({ env: { HYGROCAST_SYNC_ENABLED: 'true' } })).toThrow(/sync\.token/);
    expect(() => loadConfig({ env: { HYGROCAST_SYNC_URL: 'ftp://x' } })).toThrow(/sync\.url/);
  });

  it('puts the uplink status on the bus and drains the store to the central server', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-start-sync-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const central: CentralApp = await startCentral(testCentralConfig(port, path.join(dir, 'c')));
    cleanups.push(() => central.stop());
    const token = await registerGateway(port, 'gw');
    const config = loadConfig({ env: { HYGROCAST_SYNC_ENABLED: 'true', HYGROCAST_SYNC_URL: `http://127.0.0.1:${port}`, HYGROCAST_SYNC_TOKEN: token, HYGROCAST_SYNC_BATCH_SIZE: '100' } });
    const store = new SqliteStore({ dataDir: path.join(dir, 'g'), syncEnabled: true });
    cleanups.push(() => store.close());
    for (let i = 0; i < 250; i++) store.append(backlogReading(i));
    store.flush();
    const bus = new GatewayBus();
    const statuses: SyncStatus[] = [];
    bus.on('sync', (s) => statuses.push(s));
    const sync = startSync(config.sync, store, bus, systemClock);
    expect(sync).not.toBeNull();
    cleanups.push(() => sync?.stop());
    await until(() => statuses.some((s) => s.state === 'idle' && s.syncedTotal === 250), 10_000, 'the store to drain');
    expect(statuses.at(-1)).toMatchObject({ backlog: 0, oldestUnsyncedAgeMs: null, consecutiveFailures: 0 });
    expect(await central.storage.countReadings('gw')).toBe(250);
    expect(startSync(loadConfig({ env: {} }).sync, store, bus, systemClock)).toBeNull();
  });
});
