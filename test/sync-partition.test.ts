import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../central/app.ts';
import { systemClock } from '../gateway/clock.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import { HttpSyncTransport } from '../gateway/sync/http-transport.ts';
import { SyncUplink } from '../gateway/sync/uplink.ts';
import { backlogReading, freePort, registerGateway, SYNC_ADMIN_TOKEN, testCentralConfig, until } from './sync-helpers.ts';
import { cleanupAfterEach } from './cleanups.ts';

const READINGS = 100_000;

describe('sync partition', () => {
  const cleanups = cleanupAfterEach();

  it('central down while 100,000 readings are taken, then back: every reading exactly once, resumed within 2 s', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-partition-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const centralConfig = testCentralConfig(port, path.join(dir, 'central'));
    let central: CentralApp | null = await startCentral(centralConfig);
    cleanups.push(async () => central?.stop());
    const token = await registerGateway(port, 'gw-partition');
    await central.stop();
    central = null;

    const store = new SqliteStore({ dataDir: path.join(dir, 'gateway'), syncEnabled: true, retentionBytes: null });
    cleanups.push(() => store.close());
    const transport = new HttpSyncTransport({ url: `http://127.0.0.1:${port}`, token });
    cleanups.push(() => transport.close());
    const uplink = new SyncUplink({ source: store, transport, clock: systemClock, batchSize: 5000, statusIntervalMs: 200 });
    cleanups.push(() => uplink.stop());
    uplink.start();

    // Readings are taken (appended directly, not in real time) while the server is away.
    for (let i = 0; i < READINGS; i++) {
      store.append(backlogReading(i));
      if (i % 10_000 === 9_999) {
        store.flush();
        await new Promise((r) => setTimeout(r, 20)); // let the uplink fail and back off meanwhile
      }
    }
    store.flush();
    // Sampled while it waits: a retry in flight between two failures is 'sending', not a fault.
    await until(() => uplink.snapshot().consecutiveFailures >= 3 && uplink.snapshot().state === 'backoff', 20_000, 'the uplink to fail a few times and back off');
    expect(uplink.snapshot()).toMatchObject({ state: 'backoff', lastErrorCode: 'SYNC_UNREACHABLE', syncedTotal: 0 });

    central = await startCentral(centralConfig);
    const backAt = Date.now();
    await until(() => uplink.snapshot().lastSuccessMs !== null, 10_000, 'the first confirmed batch');
    const resumeMs = (uplink.snapshot().lastSuccessMs ?? 0) - backAt;
    await until(() => store.unsyncedBacklog().count === 0, 60_000, 'the backlog to drain');

    expect(resumeMs).toBeLessThan(2000);
    expect(await central.storage.countReadings('gw-partition')).toBe(READINGS);
    // Exactly once: the count equals the number of distinct keys sent, and every key is present.
    for (const i of [0, 1, 39_999, 40_000, 77_777, READINGS - 1]) {
      const r = backlogReading(i);
      const rows = await central.storage.readings('gw-partition', r.sensorId, r.wallTimeMs, r.wallTimeMs + 1, 10);
      expect(rows.filter((x) => x.bootId === r.bootId && x.seq === r.seq)).toHaveLength(1);
    }
    expect(uplink.snapshot().syncedTotal).toBe(READINGS);
  }, 120_000);
});
