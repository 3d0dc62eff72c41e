import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../gateway/clock.ts';
import { buildCentralServer } from './server.ts';
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
});
