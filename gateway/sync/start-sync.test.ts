import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../../central/app.ts';
import { backlogReading, freePort, registerGateway, SYNC_ADMIN_TOKEN, testCentralConfig, until } from '../../test/sync-helpers.ts';
import { systemClock } from '../clock.ts';
import { loadConfig } from '../config/load.ts';
import { GatewayBus } from '../events.ts';
import { DB_FILE_NAME, SqliteStore } from '../store/sqlite-store.ts';
import { startSync } from './start-sync.ts';
import type { SyncStatus } from './sync-types.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

describe('sync config and wiring', () => {
  const cleanups = cleanupAfterEach();

  /** A real central server with gateway 'gw' registered, and that gateway's sync config (batches of 100). */
  const centralAndConfig = async (): Promise<{ dir: string; central: CentralApp; config: ReturnType<typeof loadConfig> }> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-start-sync-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const central: CentralApp = await startCentral(testCentralConfig(port, path.join(dir, 'c')));
    cleanups.push(() => central.stop());
    const token = await registerGateway(port, 'gw');
    const config = loadConfig({ env: { HYGROCAST_SYNC_ENABLED: 'true', HYGROCAST_SYNC_URL: `http://127.0.0.1:${port}`, HYGROCAST_SYNC_TOKEN: token, HYGROCAST_SYNC_BATCH_SIZE: '100' } });
    return { dir, central, config };
  };

  it('is off by default and refuses sync.enabled without a token, naming the key', () => {
    expect(loadConfig({ env: {} }).sync).toMatchObject({ enabled: false, batchSize: 2000, maxBytesPerSecond: 0 });
    expect(() => loadConfig({ env: { HYGROCAST_SYNC_ENABLED: 'true' } })).toThrow(/sync\.token/);
    expect(() => loadConfig({ env: { HYGROCAST_SYNC_URL: 'ftp://x' } })).toThrow(/sync\.url/);
  });

  it('puts the uplink status on the bus and drains the store to the central server', async () => {
    const { dir, central, config } = await centralAndConfig();
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

  it('sets aside a stored reading the central server refuses, and syncs every other one', async () => {
    const { dir, central, config } = await centralAndConfig();
    // A database written by an older gateway, which stored an MQTT reading stamped before 1970.
    const first = new SqliteStore({ dataDir: path.join(dir, 'g'), syncEnabled: true });
    for (let i = 0; i < 250; i++) first.append(backlogReading(i));
    first.close();
    const db = new Database(path.join(dir, 'g', DB_FILE_NAME));
    db.prepare('UPDATE readings SET wall_ms = -1000 WHERE id = 120').run();
    const poisoned = db.prepare('SELECT sensor_id, boot_id, seq FROM readings WHERE id = 120').get() as { sensor_id: string; boot_id: string; seq: number };
    db.close();
    const store = new SqliteStore({ dataDir: path.join(dir, 'g'), syncEnabled: true });
    cleanups.push(() => store.close());
    const bus = new GatewayBus();
    const statuses: SyncStatus[] = [];
    bus.on('sync', (s) => statuses.push(s));
    const refused: Array<{ key: string; reason: string }> = [];
    const sync = startSync(config.sync, store, bus, systemClock, (r, reason) => refused.push({ key: `${r.sensorId}/${r.bootId}/${r.seq}`, reason }));
    cleanups.push(() => sync?.stop());
    await until(() => statuses.some((s) => s.state === 'idle' && s.backlog === 0), 10_000, 'the store to drain');
    expect(await central.storage.countReadings('gw')).toBe(249);
    expect(statuses.at(-1)).toMatchObject({ syncedTotal: 249, refusedTotal: 1, consecutiveFailures: 0 });
    expect(refused).toEqual([{ key: `${poisoned.sensor_id}/${poisoned.boot_id}/${poisoned.seq}`, reason: expect.stringContaining('body/readings/19/wallTimeMs must be >= 0') }]);
    // Set aside, not lost: the gateway still has it.
    expect(store.recent(poisoned.sensor_id, Number.NEGATIVE_INFINITY, 1000).some((r) => r.seq === poisoned.seq && r.wallTimeMs === -1000)).toBe(true);
  });
});
