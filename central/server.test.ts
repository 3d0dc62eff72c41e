import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import { buildCentralServer, MAX_REPORT_AHEAD_MS } from './server.ts';
import { centralReading } from './storage/storage.contract.ts';
import { SqliteCentralStorage } from './storage/sqlite-storage.ts';

const ADMIN = 'admin-token-0123456789';

describe('central HTTP API', () => {
  let dir: string;
  let storage: SqliteCentralStorage;
  let app: FastifyInstance;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-central-api-'));
    storage = new SqliteCentralStorage({ dataDir: dir });
    await storage.start();
    app = await buildCentralServer({ storage, adminToken: ADMIN, clock: new ManualClock(), maxBatchReadings: 100, maxInflatedBytes: 64 * 1024 });
  });
  afterEach(async () => {
    await app.close();
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const register = async (gatewayId: string): Promise<string> => {
    const res = await app.inject({ method: 'POST', url: '/v1/gateways', headers: { authorization: `Bearer ${ADMIN}` }, payload: { gatewayId } });
    expect(res.statusCode).toBe(201);
    return (res.json() as { token: string }).token;
  };
  const ingest = (token: string, body: unknown, gzip = true) =>
    app.inject({
      method: 'POST',
      url: '/v1/ingest',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
      payload: gzip ? zlib.gzipSync(JSON.stringify(body)) : JSON.stringify(body),
    });

  it('registers a gateway, stores its token only as a hash, and refuses a taken id', async () => {
    const token = await register('gw1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const db = fs.readFileSync(path.join(dir, 'central.db'));
    expect(db.includes(Buffer.from(token))).toBe(false);
    const again = await app.inject({ method: 'POST', url: '/v1/gateways', headers: { authorization: `Bearer ${ADMIN}` }, payload: { gatewayId: 'gw1' } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'CENTRAL_GATEWAY_EXISTS' });
    const noAdmin = await app.inject({ method: 'POST', url: '/v1/gateways', headers: { authorization: `Bearer ${token}` }, payload: { gatewayId: 'gw2' } });
    expect(noAdmin.statusCode).toBe(401);
  });

  it('ingests a gzip batch, answers durable marks, and a replay changes nothing', async () => {
    const token = await register('gw1');
    const body = { readings: [centralReading(1), centralReading(2), centralReading(3)] };
    const first = await ingest(token, body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ inserted: 3, duplicates: 0, marks: [{ sensorId: 's1', bootId: 'b1', seq: 3 }] });
    const replay = await ingest(token, body, false);
    expect(replay.json()).toMatchObject({ inserted: 0, duplicates: 3 });
    expect(await storage.countReadings()).toBe(3);
  });

  it('writes only under the token owner: the body cannot name another gateway', async () => {
    const t1 = await register('gw1');
    await register('gw2');
    const res = await ingest(t1, { gatewayId: 'gw2', readings: [centralReading(1)] });
    expect(res.statusCode).toBe(400);
    expect(await ingest(t1, { readings: [centralReading(1)] }).then((r) => r.statusCode)).toBe(200);
    expect(await storage.countReadings('gw1')).toBe(1);
    expect(await storage.countReadings('gw2')).toBe(0);
  });

  it('refuses unknown tokens, bad readings, oversize batches and gzip bombs with a code', async () => {
    const token = await register('gw1');
    expect((await ingest('x'.repeat(43), { readings: [] })).json()).toMatchObject({ code: 'CENTRAL_UNAUTHORIZED' });
    const bad = await ingest(token, { readings: [{ ...centralReading(1), seq: -1 }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'CENTRAL_INVALID_REQUEST' });
    expect(bad.json<{ message: string }>().message).toMatch(/seq/);
    const big = await ingest(token, { readings: Array.from({ length: 101 }, (_, i) => centralReading(i)) });
    expect(big.json()).toMatchObject({ code: 'CENTRAL_BATCH_TOO_LARGE' });
    const bomb = await ingest(token, { readings: [], pad: ' '.repeat(200_000) });
    expect(bomb.statusCode).toBe(413);
    const notGzip = await app.inject({ method: 'POST', url: '/v1/ingest', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: 'nope' });
    expect(notGzip.json()).toMatchObject({ code: 'CENTRAL_BAD_GZIP' });
    expect(await storage.countReadings()).toBe(0);
  });

  it('refuses, naming the reading, what only one of the storages could hold, and a time from a wrong clock', async () => {
    const token = await register('gw1');
    // PostgreSQL's BIGINT and text cannot hold these (SQLite can): both storages must refuse them alike, with a 400.
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ wallTimeMs: 1e19 }, /wallTimeMs must be <= 9007199254740991/],
      [{ seq: 2 ** 63 }, /seq must be <= 9007199254740991/],
      [{ bootId: 'b\u0000' }, /bootId must match pattern/],
      // More than a day ahead of the server's clock (2026-01-01): the gateway's clock is wrong.
      [{ wallTimeMs: Date.UTC(2026, 0, 3) }, /wallTimeMs 2026-01-03T00:00:00.000Z is more than 24 h ahead of the server's clock/],
    ];
    for (const [fields, message] of cases) {
      const res = await ingest(token, { readings: [centralReading(1), { ...centralReading(2), ...fields }] });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'CENTRAL_INVALID_REQUEST', reading: 1, message: expect.stringMatching(message) });
    }
    expect(await storage.countReadings()).toBe(0);
  });

  it("answers a storage failure with 503 CENTRAL_STORAGE_FAILED, naming the driver's own code in the message", async () => {
    const token = await register('gw1');
    const failing = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    storage.ingest = () => Promise.reject(failing);
    const res = await ingest(token, { readings: [centralReading(1)] });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ code: 'CENTRAL_STORAGE_FAILED', message: 'SQLITE_FULL: database or disk is full' });
  });

  it('keeps reports from gateways', async () => {
    const token = await register('gw1');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/reports',
      headers: { authorization: `Bearer ${token}` },
      payload: { kind: 'rollout', modelVersion: 'v2', outcome: 'rolled_back_nan' },
    });
    expect(res.statusCode).toBe(201);
    expect(await storage.reports('gw1', 10)).toMatchObject([{ kind: 'rollout', modelVersion: 'v2', outcome: 'rolled_back_nan' }]);
  });

  describe('accuracy reports', () => {
    const accuracy = (sensorId: string, mae: number) => ({
      sensorId,
      windowS: 86_400,
      horizons: [
        { horizonS: 600, mae, n: 144, coverage: 0.8, bandScale: { lower: 1.1, upper: 0.9, updates: 200 } },
        { horizonS: 3600, mae: mae * 2, n: 140 },
      ],
    });
    const SERVER_NOW = new ManualClock().now();
    const report = (token: string, payload: unknown) => app.inject({ method: 'POST', url: '/v1/reports', headers: { authorization: `Bearer ${token}` }, payload: payload as Record<string, unknown> });
    const list = (query: string, token = ADMIN) => app.inject({ method: 'GET', url: `/v1/accuracy${query}`, headers: { authorization: `Bearer ${token}` } });

    it('keeps a gateway\'s live accuracy per sensor and model and lists it to the admin, filtered, newest first', async () => {
      const t1 = await register('gw1');
      const t2 = await register('gw2');
      expect((await report(t1, { kind: 'accuracy', modelVersion: 'v1', outcome: 'live', accuracy: accuracy('s1', 0.2), atMs: 1000 })).statusCode).toBe(201);
      expect((await report(t1, { kind: 'accuracy', modelVersion: 'v1', outcome: 'live', accuracy: accuracy('s2', 0.3), atMs: 2000 })).statusCode).toBe(201);
      expect((await report(t2, { kind: 'accuracy', modelVersion: 'v2', outcome: 'live', accuracy: accuracy('s1', 0.4), atMs: 3000 })).statusCode).toBe(201);
      await report(t1, { kind: 'rollout', modelVersion: 'v2', outcome: 'promoted' });

      const all = await list('');
      expect(all.statusCode).toBe(200);
      expect(all.json<{ reports: unknown[] }>().reports).toEqual([
        { id: 3, gatewayId: 'gw2', modelVersion: 'v2', atMs: 3000, ...accuracy('s1', 0.4) },
        { id: 2, gatewayId: 'gw1', modelVersion: 'v1', atMs: 2000, ...accuracy('s2', 0.3) },
        { id: 1, gatewayId: 'gw1', modelVersion: 'v1', atMs: 1000, ...accuracy('s1', 0.2) },
      ]);
      const ids = async (q: string): Promise<number[]> => (await list(q)).json<{ reports: Array<{ id: number }> }>().reports.map((r) => r.id);
      expect(await ids('?gateway=gw1')).toEqual([2, 1]);
      expect(await ids('?gateway=gw1&sensor=s1')).toEqual([1]);
      expect(await ids('?sensor=s1&model=v2')).toEqual([3]);
      expect(await ids('?limit=1')).toEqual([3]);
      expect((await list('', t1)).statusCode).toBe(401);
    });

    it("keeps a report up to a day ahead of the server's clock at the gateway's time, and one without atMs at the server's", async () => {
      const token = await register('gw1');
      expect((await report(token, { kind: 'accuracy', modelVersion: 'v1', outcome: 'live', accuracy: accuracy('s1', 0.2), atMs: SERVER_NOW + MAX_REPORT_AHEAD_MS })).statusCode).toBe(201);
      expect((await report(token, { kind: 'rollout', modelVersion: 'v1', outcome: 'promoted' })).statusCode).toBe(201);
      expect((await storage.reports('gw1', 10)).map((r) => [r.kind, r.atMs])).toEqual([['rollout', SERVER_NOW], ['accuracy', SERVER_NOW + MAX_REPORT_AHEAD_MS]]);
    });

    it('refuses malformed accuracy reports and queries with a 400 naming what was wrong, and stores nothing', async () => {
      const token = await register('gw1');
      const refused = async (payload: unknown, pattern: RegExp): Promise<void> => {
        const res = await report(token, payload);
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json()).toMatchObject({ code: 'CENTRAL_INVALID_REQUEST' });
        expect(res.json<{ message: string }>().message).toMatch(pattern);
      };
      const base = { kind: 'accuracy', modelVersion: 'v1', outcome: 'live' };
      await refused(base, /body\/accuracy is required/);
      await refused({ kind: 'rollout', modelVersion: 'v1', outcome: 'promoted', accuracy: accuracy('s1', 0.2) }, /only for kind 'accuracy'/);
      await refused({ ...base, accuracy: { ...accuracy('s1', 0.2), horizons: [{ horizonS: 600, mae: -1, n: 3 }] } }, /accuracy\/horizons\/0\/mae/);
      await refused({ ...base, accuracy: { ...accuracy('s1', 0.2), horizons: [{ horizonS: 600, mae: 1, n: 0 }] } }, /accuracy\/horizons\/0\/n/);
      await refused({ ...base, accuracy: { ...accuracy('s1', 0.2), horizons: [{ horizonS: 600, mae: 1, n: 3, coverage: 1.5 }] } }, /coverage/);
      await refused({ ...base, accuracy: { ...accuracy('s1', 0.2), horizons: [] } }, /accuracy\/horizons/);
      await refused({ ...base, accuracy: { ...accuracy('s1', 0.2), horizons: [{ horizonS: 600, mae: 1, n: 3 }, { horizonS: 600, mae: 1, n: 3 }] } }, /horizonS 600 twice/);
      await refused({ ...base, accuracy: { ...accuracy('s1', 0.2), sensorId: 'no spaces' } }, /accuracy\/sensorId/);
      await refused({ ...base, accuracy: { ...accuracy('s1', 0.2), extra: 1 } }, /additional properties: "extra"/);
      // The server's ManualClock stands at 2026-01-01: a day ahead is a drifting clock, more is a wrong one.
      await refused({ ...base, accuracy: accuracy('s1', 0.2), atMs: SERVER_NOW + MAX_REPORT_AHEAD_MS + 1 }, /body\/atMs 2026-01-02T00:00:00.001Z is more than 24 h ahead of the server's clock \(2026-01-01T00:00:00.000Z\)/);
      await refused({ kind: 'rollout', modelVersion: 'v1', outcome: 'promoted', atMs: Date.UTC(2099, 0, 1) }, /body\/atMs 2099-01-01T00:00:00.000Z/);
      expect(await storage.accuracyReports({}, 10)).toEqual([]);
      expect(await storage.reports('gw1', 10)).toEqual([]);

      for (const [query, pattern] of [
        ['?gatway=gw1', /querystring must NOT have additional properties: "gatway"/],
        ['?sensor=a%20b', /querystring\/sensor/],
        ['?limit=0', /querystring\/limit must be 1 to 1000/],
        ['?limit=many', /querystring\/limit/],
      ] as const) {
        const res = await list(query);
        expect(res.statusCode, query).toBe(400);
        expect(res.json<{ message: string }>().message).toMatch(pattern);
      }
    });
  });
});
