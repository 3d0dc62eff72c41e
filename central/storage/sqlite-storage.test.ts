import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { cleanupAfterEach } from '../../test/cleanups.ts';
import { CENTRAL_DB_FILE, SqliteCentralStorage } from './sqlite-storage.ts';
import { centralReading } from './storage.contract.ts';

describe('SqliteCentralStorage schema upgrade', () => {
  const cleanups = cleanupAfterEach();

  it('adds the accuracy columns to a reports table created before them, keeping its rows', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-upgrade-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const old = new Database(path.join(dataDir, CENTRAL_DB_FILE));
    old.exec(`CREATE TABLE reports (id INTEGER PRIMARY KEY, gateway_id TEXT NOT NULL, kind TEXT NOT NULL, model_version TEXT NOT NULL,
      outcome TEXT NOT NULL, mae_json TEXT NULL, at_ms INTEGER NOT NULL);
      INSERT INTO reports (gateway_id, kind, model_version, outcome, mae_json, at_ms) VALUES ('gw1', 'rollout', 'v1', 'promoted', NULL, 1);`);
    old.close();
    const storage = new SqliteCentralStorage({ dataDir });
    await storage.start();
    cleanups.push(() => storage.close());
    const accuracy = { sensorId: 's1', windowS: 86_400, horizons: [{ horizonS: 600, mae: 0.2, n: 10 }] };
    await storage.addReport('gw1', { kind: 'accuracy', modelVersion: 'v1', outcome: 'live', accuracy, atMs: 2 });
    expect((await storage.reports('gw1', 10)).map((r) => r.outcome)).toEqual(['live', 'promoted']);
    expect(await storage.accuracyReports({ sensorId: 's1' }, 10)).toMatchObject([{ accuracy }]);
  });
});

describe('SqliteCentralStorage statements', () => {
  const cleanups = cleanupAfterEach();

  it('prepares every statement once, at start, not on each call', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-prepare-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const storage = new SqliteCentralStorage({ dataDir });
    await storage.start();
    cleanups.push(() => storage.close());
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    cleanups.push(() => prepare.mockRestore());
    const accuracy = { sensorId: 's1', windowS: 86_400, horizons: [{ horizonS: 600, mae: 0.2, n: 10 }] };
    for (let i = 0; i < 2; i++) {
      await storage.registerGateway(`gw${i}`, `hash-${i}`, i);
      await storage.gatewayForTokenHash(`hash-${i}`);
      await storage.ingest('gw1', [centralReading(i + 1)], i);
      await storage.countReadings();
      await storage.countReadings('gw1');
      await storage.readings('gw1', 's1', 0, Number.MAX_SAFE_INTEGER, 10);
      await storage.sensors();
      await storage.addReport('gw1', { kind: 'accuracy', modelVersion: 'v1', outcome: 'live', accuracy, atMs: i });
      await storage.reports('gw1', 10);
      await storage.accuracyReports({ sensorId: 's1' }, 10);
      await storage.pruneAccuracyReports(0);
    }
    expect(prepare).not.toHaveBeenCalled();
    expect(await storage.countReadings()).toBe(2);
  });
});
