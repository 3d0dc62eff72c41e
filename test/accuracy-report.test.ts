import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startCentral, type CentralApp } from '../central/app.ts';
import { Gateway } from '../gateway/app.ts';
import { ManualClock, systemClock } from '../gateway/clock.ts';
import { configSchema } from '../gateway/config/schema.ts';
import { ForecastLog } from '../gateway/forecast/forecast-log.ts';
import { createLogger } from '../gateway/log.ts';
import { DB_FILE_NAME, SqliteStore } from '../gateway/store/sqlite-store.ts';
import { encodeModel } from '../models/onnx-file.ts';
import { buildRidgeModel } from '../models/ridge-onnx.ts';
import { persistenceWeights, testContract } from '../models/test-fixtures.ts';
import { cleanupAfterEach } from './cleanups.ts';
import { freePort, registerGateway, testCentralConfig, until } from './sync-helpers.ts';

const STEP = 600_000;

/** Scored forecasts of sensor `cellar` under model `live-1` with targets in the last hour, in the gateway's database. */
function seedScoredForecasts(dataDir: string): void {
  new SqliteStore({ dataDir }).close(); // creates the database file
  const db = new Database(path.join(dataDir, DB_FILE_NAME));
  const clock = new ManualClock(Date.now() - 4 * STEP);
  const log = new ForecastLog({ db, clock, stepMs: STEP });
  for (let i = 0; i < 2; i++) {
    log.record({ sensorId: 'cellar', issuedAtMs: clock.now(), baseTimeMs: clock.now(), modelVersion: 'live-1', warmingUp: false, points: [{ horizonS: 600, rh: 51, lower: 50, upper: 52 }] });
    clock.advance(STEP);
  }
  log.score(() => 50);
  db.close();
}

describe('the gateway reports its live forecast error to the central server', () => {
  const cleanups = cleanupAfterEach();

  it('posts the forecast log\'s rolling error per sensor and model, retrying while the server is down', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-accuracy-gw-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const contract = testContract({ modelVersion: 'model-1' });
    const modelFile = path.join(dir, 'model-1.onnx');
    fs.writeFileSync(modelFile, encodeModel(buildRidgeModel(persistenceWeights(contract.windowSteps, contract.horizonsS.length), contract)));

    const port = await freePort();
    const centralConfig = testCentralConfig(port, path.join(dir, 'central'));
    let central: CentralApp = await startCentral(centralConfig);
    const token = await registerGateway(central.port, 'gw');
    await central.stop(); // down when the first report is due

    const dataDir = path.join(dir, 'gateway');
    seedScoredForecasts(dataDir);
    const config = configSchema.parse({
      dataDir,
      clock: { trusted: 'always' },
      sources: [],
      mqtt: { enabled: false },
      dashboard: { enabled: false },
      forecast: { modelPath: modelFile },
      sync: { enabled: true, url: `http://127.0.0.1:${port}`, token, accuracyReportIntervalMs: 1000 },
    });
    const lines: string[] = [];
    const logger = createLogger('warn', new Writable({ write: (chunk: Buffer, _enc, done) => done(void lines.push(chunk.toString())) }));
    const gateway = new Gateway(config, { clock: systemClock, logger });
    await gateway.start();
    cleanups.push(() => gateway.stop());

    await until(() => lines.some((l) => l.includes('accuracy report not delivered')), 10_000, 'a failed report while central is down');
    central = await startCentral(centralConfig);
    cleanups.push(() => central.stop());
    await until(async () => (await central.storage.accuracyReports({ gatewayId: 'gw' }, 50)).length >= 2, 10_000, 'the held report and a new one');
    const [newest] = await central.storage.accuracyReports({ gatewayId: 'gw', sensorId: 'cellar', modelVersion: 'live-1' }, 1);
    expect(newest).toMatchObject({ kind: 'accuracy', outcome: 'live', maePerHorizon: { '600': 1 }, accuracy: { sensorId: 'cellar', windowS: 86_400, horizons: [{ horizonS: 600, mae: 1, n: 2, coverage: 1 }] } });
  }, 30_000);
});
