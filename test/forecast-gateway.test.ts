import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../gateway/broker/auth.ts';
import { ManualClock } from '../gateway/clock.ts';
import { ForecastLog } from '../gateway/forecast/forecast-log.ts';
import { readModelFile } from '../models/onnx-file.ts';
import { nanModel, tempDir, testContract } from '../models/test-fixtures.ts';
import type { TempDir } from '../models/test-fixtures.ts';
import { REPO_ROOT, startGatewayProcess, waitFor } from './gateway-process.ts';
import type { GatewayProcess } from './gateway-process.ts';

/**
 * A broken model at the gateway level: forecast.modelPath points at a contract-valid model that
 * answers NaN. The gateway must say why there is no forecast (invalid_output) and keep
 * storing and serving readings.
 */
describe('gateway with a model that returns NaN', () => {
  let gw: GatewayProcess | null = null;
  let models: TempDir | null = null;

  afterEach(async () => {
    if (gw) {
      await gw.stop();
      gw.cleanup();
    }
    gw = null;
    await models?.remove();
    models = null;
  });

  it('reports invalid_output (HTTP 503 and the retained MQTT forecast), keeps publishing readings, and stores nothing as a forecast', async () => {
    models = await tempDir();
    const modelPath = await models.write('nan.onnx', nanModel(testContract()));
    gw = await startGatewayProcess({
      sources: [{ type: 'sim', sensors: ['sim-1'], intervalMs: 200, seed: 3 }],
      store: { flushIntervalMs: 200 },
      clock: { trusted: 'always' },
      forecast: { modelPath, checkIntervalMs: 200, alerts: [{ sensor: '*', above: 60 }] },
    });
    const base = `http://127.0.0.1:${gw.dashboardPort}`;
    const get = async (p: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(base + p);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    let refusal: { status: number; body: Record<string, unknown> } | null = null;
    await waitFor(() => {
      void get('/api/forecast/sim-1').then((r) => (refusal = r));
      return (refusal as { body: Record<string, unknown> } | null)?.body.reason === 'invalid_output';
    }, 'the NaN model to be reported as invalid_output');
    expect(refusal).toMatchObject({ status: 503, body: { error: 'no_forecast', reason: 'invalid_output' } });
    expect(String((refusal as unknown as { body: { detail: unknown } }).body.detail)).toMatch(/NaN|not a humidity/);
    // MQTT: the retained forecast topic says why instead of carrying a forecast.
    const client = mqtt.connect({ host: '127.0.0.1', port: gw.mqttPort, reconnectPeriod: 0 });
    const forecasts: Record<string, unknown>[] = [];
    try {
      client.on('message', (_topic, payload) => forecasts.push(JSON.parse(payload.toString()) as Record<string, unknown>));
      await client.subscribeAsync('hygrocast/sim-1/forecast');
      await waitFor(() => forecasts.length > 0, 'the retained forecast topic');
    } finally {
      await client.endAsync();
    }
    expect(forecasts[0]).toMatchObject({ available: false, reason: 'invalid_output', points: [] });
    const first = await get('/api/readings/sim-1?since=0');
    const count = (first.body.readings as unknown[]).length;
    expect(count).toBeGreaterThan(0);
    await waitFor(() => {
      void get('/api/readings/sim-1?since=0').then((r) => (first.body = r.body));
      return (first.body.readings as unknown[]).length >= count + 5;
    }, 'readings to keep flowing after the model failed');
    expect(gw.child.exitCode).toBeNull();
    expect(await gw.stop()).toBe(0);
    expect(forecastRows(gw.dataDir)).toBe(0);
  }, 40_000);

  it('with the shipped model, forecasts are served and stored, and a likely crossing publishes a retained alert', async () => {
    gw = await startGatewayProcess({
      sources: [{ type: 'sim', sensors: ['sim-1'], intervalMs: 200, seed: 3 }],
      store: { flushIntervalMs: 200 },
      clock: { trusted: 'always' },
      // Any indoor humidity is likely above 1 %RH: the alert must fire on the first forecast.
      forecast: { checkIntervalMs: 200, alerts: [{ sensor: 'sim-1', above: 1 }] },
    });
    const url = `http://127.0.0.1:${gw.dashboardPort}/api/forecast/sim-1`;
    let status = 0;
    await waitFor(() => {
      void fetch(url).then((r) => (status = r.status));
      return status === 200;
    }, 'a forecast from the shipped model');
    const client = mqtt.connect({ host: '127.0.0.1', port: gw.mqttPort, reconnectPeriod: 0 });
    const alerts = new Map<string, Record<string, unknown>>();
    try {
      client.on('message', (topic, payload) => alerts.set(topic, JSON.parse(payload.toString()) as Record<string, unknown>));
      await client.subscribeAsync(['hygrocast/sim-1/alert', 'hygrocast/sim-1/alert/+']);
      await waitFor(() => alerts.size >= 2, 'the retained alerts: the sensor\'s and the rule\'s');
    } finally {
      await client.endAsync();
    }
    const rule = { sensor: 'sim-1', id: 'above-1', state: 'on', threshold: 1, direction: 'above', horizon_s: 600, probability_min: 0.1 };
    expect(alerts.get('hygrocast/sim-1/alert/above-1')).toMatchObject(rule);
    expect(alerts.get('hygrocast/sim-1/alert')).toMatchObject({ ...rule, active: ['above-1'] });
    expect(await gw.stop()).toBe(0);
    // One row per horizon of each forecast (a step boundary during the test may add a second one).
    const rows = forecastRows(gw.dataDir);
    expect(rows).toBeGreaterThanOrEqual(36);
    expect(rows % 36).toBe(0);
  }, 40_000);

  it('publishes the band calibrated by the factors kept in its database (forecast.bandCalibration)', async () => {
    // Factors as a long run of scored forecasts would have left them: the upper half x100, the
    // lower half /100, for the shipped model on sim-1. The served band must carry them.
    models = await tempDir();
    const dataDir = models.file('data');
    fs.mkdirSync(dataDir);
    const shipped = await readModelFile(path.join(REPO_ROOT, 'models/hygrocast-rh.onnx'));
    const { modelVersion, horizonsS } = shipped.contract!;
    const db = new Database(path.join(dataDir, 'hygrocast.db'));
    new ForecastLog({ db, clock: new ManualClock(0), stepMs: 600_000 }); // creates its tables
    const put = db.prepare('INSERT INTO band_calibration (sensor_id, model_version, horizon_s, level, log_lower, log_upper, updates, updated_ms) VALUES (?, ?, ?, 0.8, ?, ?, 500, ?)');
    for (const h of horizonsS) put.run('sim-1', modelVersion, h, -Math.log(100), Math.log(100), Date.now());
    db.close();
    gw = await startGatewayProcess({
      dataDir,
      sources: [{ type: 'sim', sensors: ['sim-1'], intervalMs: 200, seed: 3 }],
      store: { flushIntervalMs: 200 },
      mqtt: { enabled: false },
      clock: { trusted: 'always' },
      forecast: { checkIntervalMs: 200, bandCalibration: { maxScale: 100 } },
    });
    const url = `http://127.0.0.1:${gw.dashboardPort}/api/forecast/sim-1`;
    let body: { modelVersion?: string; points?: { rh: number; lower: number; upper: number }[] } = {};
    await waitFor(() => {
      void fetch(url).then(async (r) => (body = r.status === 200 ? ((await r.json()) as typeof body) : {}));
      return body.points !== undefined;
    }, 'a forecast from the shipped model');
    expect(body.modelVersion).toBe(modelVersion);
    expect(body.points).toHaveLength(horizonsS.length);
    // The model's own halves are within a factor of a few of each other. This fresh sensor is
    // warming up, so the calibration may widen its band (the upper half x100) but not narrow it
    // below the forecaster's floored band (the lower half stays): their ratio is in the tens.
    expect(body).toMatchObject({ warmingUp: true });
    for (const p of body.points!) {
      expect(p.upper - p.rh).toBeGreaterThan(10 * (p.rh - p.lower));
      expect(p.rh - p.lower).toBeGreaterThan(0);
    }
    expect(await gw.stop()).toBe(0);
  }, 40_000);

  it('forecasts a sensor that reported 25 min ago only when forecast.staleAfterSteps allows it', async () => {
    const answer = async (staleAfterSteps: number | undefined): Promise<Record<string, unknown>> => {
      gw = await startGatewayProcess({
        sources: [],
        store: { flushIntervalMs: 200 },
        mqtt: { host: '127.0.0.1', port: 0, users: [{ username: 'sensor', passwordHash: hashPassword('attic'), publish: ['hygrocast/ingest/+'] }] },
        clock: { trusted: 'always' },
        forecast: { checkIntervalMs: 200, ...(staleAfterSteps === undefined ? {} : { staleAfterSteps }) },
      });
      // A sensor that reports every few minutes, last 25 min ago (a battery sensor asleep).
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'sensor', password: 'attic', reconnectPeriod: 0 });
      const now = Date.now();
      try {
        for (let ageMin = 60; ageMin >= 25; ageMin -= 5) {
          await client.publishAsync('hygrocast/ingest/attic', JSON.stringify({ humidity: 50 + ageMin / 10, time: new Date(now - ageMin * 60_000).toISOString() }));
        }
      } finally {
        await client.endAsync();
      }
      let body: Record<string, unknown> = {};
      await waitFor(() => {
        void fetch(`http://127.0.0.1:${gw!.dashboardPort}/api/forecast/attic`).then(async (r) => (body = (await r.json()) as Record<string, unknown>));
        return body.reason === 'stale' || body.points !== undefined;
      }, 'a forecast or a refusal for attic');
      expect(await gw.stop()).toBe(0);
      gw.cleanup();
      gw = null;
      return body;
    };
    // Default: 2 steps (20 min) of silence is stale.
    expect(await answer(undefined)).toMatchObject({ error: 'no_forecast', reason: 'stale', detail: expect.stringMatching(/more than 1200 s \(2 steps\)/) });
    // 4 steps (40 min): forecast, from a window padded where the sensor has no history.
    expect(await answer(4)).toMatchObject({ sensorId: 'attic', warmingUp: true, points: expect.any(Array) });
  }, 60_000);
});

function forecastRows(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'hygrocast.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM forecasts').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
