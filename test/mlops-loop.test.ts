import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../central/app.ts';
import { generateSigningKeys, privateKeyFromPem } from '../central/manifest.ts';
import { retrainAll } from '../central/retrain.ts';
import { Gateway } from '../gateway/app.ts';
import type { SyncStatusPayload } from '../gateway/broker/sync-status.ts';
import { systemClock } from '../gateway/clock.ts';
import { configSchema } from '../gateway/config/schema.ts';
import { createLogger } from '../gateway/log.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import type { Reading } from '../gateway/types.ts';
import { readCsvColumn } from '../models/csv.ts';
import { encodeModel } from '../models/onnx-file.ts';
import { buildRidgeModel } from '../models/ridge-onnx.ts';
import { APPLIANCES_CSV, persistenceWeights, SMALL_NEURAL, testContract } from '../models/test-fixtures.ts';
import { freePort, registerGateway, testCentralConfig, until } from './sync-helpers.ts';
import { cleanupAfterEach } from './cleanups.ts';

const HORIZONS = [600, 1200, 1800, 2400, 3000, 3600];
const WINDOW = 36;
/** 4000 ten-minute steps of RH_1 (about 28 days): enough to train, hold out and shadow. */
const READINGS = 4000;

/** The replayed real data: RH_1 of the appliances house, with its own (past) timestamps. */
async function replayedReadings(): Promise<Reading[]> {
  const csv = await readCsvColumn(APPLIANCES_CSV, 'RH_1');
  const out: Reading[] = [];
  csv.timesMs.slice(0, READINGS).forEach((t, i) => {
    const rh = csv.values[i];
    if (rh !== null && rh !== undefined) out.push({ sensorId: 'rh1', bootId: 'replay', seq: i, uptimeMs: i * 600_000, wallTimeMs: t, rh, tempC: null, quality: [] });
  });
  return out;
}

describe('the MLOps loop (real data: appliances RH_1)', () => {
  const cleanups = cleanupAfterEach();

  it('syncs replayed readings, retrains and promotes centrally, then pulls, verifies, shadows and promotes the new model on the gateway', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-mlops-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const keys = generateSigningKeys();
    const signingKey = privateKeyFromPem(keys.privateKeyPem);
    const publicKeyFile = path.join(dir, 'central.pub');
    fs.writeFileSync(publicKeyFile, keys.publicKeyPem);

    // A deliberately poor model (persistence + 3 %RH), in production centrally and running on the gateway.
    const contract = testContract({ modelVersion: 'poor-1', windowSteps: WINDOW, horizonsS: HORIZONS });
    const biased = persistenceWeights(WINDOW, HORIZONS.length);
    biased.b.fill(3);
    const poorBytes = encodeModel(buildRidgeModel(biased, contract));
    const poorFile = path.join(dir, 'poor-1.onnx');
    fs.writeFileSync(poorFile, poorBytes);

    const port = await freePort();
    const centralConfig = testCentralConfig(port, path.join(dir, 'central'));
    let central: CentralApp = await startCentral(centralConfig);
    const token = await registerGateway(central.port, 'gw');
    central.registry.addCandidate(poorBytes, contract, {}, signingKey, Date.now());
    central.registry.promote('poor-1', Date.now());
    await central.stop(); // down while the gateway starts: its backlog shows on MQTT and /metrics

    const dataDir = path.join(dir, 'gateway');
    const store = new SqliteStore({ dataDir, syncEnabled: true });
    const readings = await replayedReadings();
    for (const r of readings) store.append(r);
    store.flush();
    store.close();

    const config = configSchema.parse({
      dataDir,
      clock: { trusted: 'always' },
      sources: [],
      mqtt: { host: '127.0.0.1', port: 0 },
      dashboard: { enabled: false },
      forecast: { modelPath: poorFile, checkIntervalMs: 1000 },
      sync: { enabled: true, url: `http://127.0.0.1:${port}`, token, batchSize: 1000, modelPublicKeyPath: publicKeyFile, modelCheckIntervalMs: 1000 },
    });
    const logger = createLogger('warn', new Writable({ write: (_chunk, _enc, done) => done() }));
    const gateway = new Gateway(config, { clock: systemClock, logger });
    const { mqttPort } = await gateway.start();
    cleanups.push(() => gateway.stop());
    expect(gateway.forecasterInfo()?.version).toBe('poor-1');

    const statuses: SyncStatusPayload[] = [];
    const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync());
    client.on('message', (topic, payload) => {
      if (topic === 'hygrocast/bridge/sync') statuses.push(JSON.parse(payload.toString()) as SyncStatusPayload);
    });
    await client.subscribeAsync('hygrocast/bridge/sync');

    // Central down: the whole replay waits, visible on MQTT (retained) and in the gauge.
    await until(() => statuses.some((s) => s.backlog === readings.length && s.last_error === 'SYNC_UNREACHABLE'), 10_000, 'the backlog on bridge/sync');
    expect((await gateway.metrics.render()).body).toMatch(new RegExp(`^hygrocast_sync_backlog_readings ${readings.length}$`, 'm'));

    central = await startCentral(centralConfig);
    cleanups.push(() => central.stop());
    await until(async () => (await central.storage.countReadings('gw')) === readings.length, 15_000, 'the replay to reach the central server');
    await until(() => statuses.some((s) => s.backlog === 0 && s.last_success !== null && s.synced_total === readings.length), 10_000, 'a drained status on bridge/sync');
    expect((await gateway.metrics.render()).body).toMatch(/^hygrocast_sync_backlog_readings 0$/m);

    // The central server retrains on the synced data and promotes the candidate over the poor model.
    // Aborted by the cleanup if the test times out, so no training child outlives it.
    const retraining = new AbortController();
    cleanups.push(() => retraining.abort());
    const [run] = await retrainAll({ storage: central.storage, registry: central.registry, signingKey, clock: systemClock, runsFile: path.join(dir, 'runs.jsonl'), train: { windowSteps: WINDOW, horizonsS: HORIZONS }, neural: SMALL_NEURAL, signal: retraining.signal });
    expect(run).toMatchObject({ gatewayId: 'gw', sensorId: 'rh1', decision: 'promoted' });
    const candidate = run!.candidate!.version;
    expect(central.registry.production()?.version).toBe(candidate);

    // The gateway pulls it at its next check, verifies it, shadows it against poor-1 and promotes it.
    await until(() => gateway.forecasterInfo()?.version === candidate, 15_000, `the gateway to run ${candidate}`);
    // The outcome is reported right after the swap.
    const outcomes = async (): Promise<string[][]> => (await central.storage.reports('gw', 20)).map((r) => [r.modelVersion, r.outcome]);
    await until(async () => (await outcomes()).some(([v, o]) => v === candidate && o === 'promoted'), 5000, 'the promotion report');
    expect(await outcomes()).toContainEqual([candidate, 'verified']);
    const promoted = (await central.storage.reports('gw', 20)).find((r) => r.modelVersion === candidate && r.outcome === 'promoted');
    expect(Object.keys(promoted?.maePerHorizon ?? {})).toEqual(HORIZONS.map(String));
    // The previous model is kept on disk, and the choice survives a restart, with its probation
    // (the model to roll back to: the configured one, named null).
    expect(fs.readdirSync(path.join(dataDir, 'models')).sort()).toEqual(expect.arrayContaining([`${candidate}.onnx`, 'poor-1.onnx', 'active.json']));
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'models', 'active.json'), 'utf8'))).toEqual({ version: candidate, file: `${candidate}.onnx`, probation: { previous: null, sinceMs: expect.any(Number) } });
  }, 60_000);
});
