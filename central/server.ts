import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Clock } from '../gateway/clock.ts';
import type { Reading } from '../gateway/types.ts';
import { bearerToken, hashToken, newToken, sameToken } from './auth.ts';
import { errorCode as errorCodeOf } from '../gateway/coded-error.ts';
import { DEFAULT_MAX_INFLATED_BYTES, httpError, registerGzipJson } from './ingest-body.ts';
import type { ModelRegistry } from './registry.ts';
import { createHash } from 'node:crypto';
import { GATEWAY_ID_PATTERN, MAX_INGEST_READINGS, type CentralStorage, type ModelReport, type StoredReport } from './storage/storage.ts';

export interface CentralServerOptions {
  storage: CentralStorage;
  /** Token that may register gateways (POST /v1/gateways). */
  adminToken: string;
  clock: Clock;
  /** Bound of a request body on the wire (compressed), in bytes. Default 8 MiB. */
  bodyLimitBytes?: number;
  /** Bound of a request body once inflated, in bytes. Default DEFAULT_MAX_INFLATED_BYTES. */
  maxInflatedBytes?: number;
  /** Readings per ingest request; more is refused with 413. Default MAX_INGEST_READINGS. */
  maxBatchReadings?: number;
  /** Where the production model comes from; without it the model routes answer 404. */
  registry?: ModelRegistry;
}

const SENSOR_ID_SOURCE = '^[A-Za-z0-9_-]{1,32}$';
/** Free text without NUL, which PostgreSQL's text cannot hold (SQLite can: the storages must agree). */
const NO_NUL = '^[^\\u0000]*$';

const readingSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sensorId', 'bootId', 'seq', 'uptimeMs', 'wallTimeMs', 'rh', 'tempC', 'quality'],
  properties: {
    sensorId: { type: 'string', pattern: SENSOR_ID_SOURCE },
    bootId: { type: 'string', minLength: 1, maxLength: 64, pattern: NO_NUL },
    // Bounded to what both storages hold (PostgreSQL BIGINT, JavaScript's safe integers): beyond
    // it PostgreSQL refused the batch with a 503, which the gateway retried forever.
    seq: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    uptimeMs: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    wallTimeMs: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    rh: { type: ['number', 'null'] },
    tempC: { type: ['number', 'null'] },
    quality: { type: 'array', maxItems: 5, items: { enum: ['out_of_range', 'stuck', 'spike', 'stale', 'sensor_error'] } },
  },
} as const;

/** Rows GET /v1/accuracy answers without `limit`, and at most. */
export const DEFAULT_ACCURACY_LIMIT = 100;
export const MAX_ACCURACY_LIMIT = 1000;

/** An accuracy report's detail (storage.ts AccuracyDetail); bounds keep one report small. */
const accuracySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sensorId', 'windowS', 'horizons'],
  properties: {
    sensorId: { type: 'string', pattern: SENSOR_ID_SOURCE },
    windowS: { type: 'integer', minimum: 1, maximum: 31 * 86_400 },
    horizons: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['horizonS', 'mae', 'n'],
        properties: {
          horizonS: { type: 'integer', minimum: 1, maximum: 7 * 86_400 },
          mae: { type: 'number', minimum: 0 },
          n: { type: 'integer', minimum: 1 },
          coverage: { type: 'number', minimum: 0, maximum: 1 },
          bandScale: {
            type: 'object',
            additionalProperties: false,
            required: ['lower', 'upper', 'updates'],
            properties: { lower: { type: 'number', exclusiveMinimum: 0 }, upper: { type: 'number', exclusiveMinimum: 0 }, updates: { type: 'integer', minimum: 0 } },
          },
        },
      },
    },
  },
} as const;

const accuracyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    gateway: { type: 'string', pattern: GATEWAY_ID_PATTERN.source },
    sensor: { type: 'string', pattern: SENSOR_ID_SOURCE },
    model: { type: 'string', minLength: 1, maxLength: 128, pattern: NO_NUL },
    limit: { type: 'string', pattern: '^[0-9]{1,7}$' },
  },
} as const;

/** What JSON schema cannot say clearly: `accuracy` goes with kind 'accuracy' and only with it, each horizon once. */
function checkAccuracyPresence(body: Pick<ModelReport, 'kind' | 'accuracy'>): void {
  const bad = (message: string): Error => httpError(400, 'CENTRAL_INVALID_REQUEST', message);
  if (body.kind === 'accuracy' && body.accuracy === undefined) throw bad("body/accuracy is required for kind 'accuracy' ({ sensorId, windowS, horizons })");
  if (body.kind !== 'accuracy' && body.accuracy !== undefined) throw bad(`body/accuracy is only for kind 'accuracy' (got kind '${body.kind}')`);
  const seen = new Set<number>();
  for (const h of body.accuracy?.horizons ?? []) {
    if (seen.has(h.horizonS)) throw bad(`body/accuracy/horizons lists horizonS ${h.horizonS} twice`);
    seen.add(h.horizonS);
  }
}

/**
 * How far ahead of the server's clock a report's atMs may be, ms: a day covers gateways in any time
 * zone whose clocks drift. A report from further ahead comes from a wrong gateway clock; stored,
 * it would outlive the retention (counted from atMs) by that much. The same bound refuses a
 * reading's wallTimeMs at ingest. (GET /v1/accuracy's "newest first" is arrival order, by id.)
 */
export const MAX_REPORT_AHEAD_MS = 86_400_000;

/** The report's time: the gateway's atMs, or the server's clock when absent; 400 when implausibly far ahead. */
function reportTime(atMs: number | undefined, nowMs: number): number {
  if (atMs === undefined) return nowMs;
  if (atMs > nowMs + MAX_REPORT_AHEAD_MS) {
    throw httpError(400, 'CENTRAL_INVALID_REQUEST', `body/atMs ${new Date(atMs).toISOString()} is more than ${MAX_REPORT_AHEAD_MS / 3_600_000} h ahead of the server's clock (${new Date(nowMs).toISOString()}); the gateway's clock is wrong`);
  }
  return atMs;
}

/** One row of GET /v1/accuracy. */
function accuracyView(r: StoredReport): Record<string, unknown> {
  return { id: r.id, gatewayId: r.gatewayId, sensorId: r.accuracy?.sensorId ?? null, modelVersion: r.modelVersion, atMs: r.atMs, windowS: r.accuracy?.windowS ?? null, horizons: r.accuracy?.horizons ?? [] };
}

/** Ajv's messages, with the offending key named where ajv leaves it out (an unknown property). */
function validationMessage(err: Error & { validation?: unknown; validationContext?: string }): string {
  if (!Array.isArray(err.validation)) return err.message;
  return (err.validation as Array<{ instancePath: string; message?: string; params?: { additionalProperty?: string } }>)
    .map((e) => `${err.validationContext ?? 'body'}${e.instancePath} ${e.message ?? 'is invalid'}${e.params?.additionalProperty ? `: "${e.params.additionalProperty}"` : ''}`)
    .join(', ');
}

/**
 * `{ reading: i }` when the body's only fault is in readings[i] of an ingest batch: the gateway then
 * sends the rest and sets that one reading aside instead of re-sending a batch refused for good.
 */
function refusedReading(err: Error & { validation?: unknown; validationContext?: string }): { reading?: number } {
  if (err.validationContext !== 'body' || !Array.isArray(err.validation)) return {};
  const indexes = new Set((err.validation as Array<{ instancePath: string }>).map((e) => /^\/readings\/(\d+)(\/|$)/.exec(e.instancePath)?.[1] ?? 'other'));
  const [only] = indexes;
  return indexes.size === 1 && only !== undefined && only !== 'other' ? { reading: Number(only) } : {};
}

/**
 * The central server's HTTP API (docs in central/README.md). Every error answer is
 * `{ code, message }` with a code to branch on; storage failures are 503 so a gateway retries.
 */
export async function buildCentralServer(options: CentralServerOptions): Promise<FastifyInstance> {
  const { storage, clock } = options;
  const maxBatch = options.maxBatchReadings ?? MAX_INGEST_READINGS;
  // removeAdditional: false so an unknown field is refused (400), not silently dropped.
  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? 8 * 1024 * 1024, logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } });
  registerGzipJson(app, options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown; validationContext?: string }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ code: 'CENTRAL_INVALID_REQUEST', message: validationMessage(err), ...refusedReading(err) });
    const own = errorCodeOf(err);
    const status = err.statusCode ?? (own === 'CENTRAL_GATEWAY_EXISTS' ? 409 : 503);
    // A driver's own code (22003, SQLITE_FULL) is named in the message; the code a client branches on is ours.
    const ours = own !== undefined && (own.startsWith('CENTRAL_') || err.statusCode !== undefined);
    const reading = (err as { reading?: unknown }).reading;
    return reply.code(status).send({
      code: ours ? own : 'CENTRAL_STORAGE_FAILED',
      message: ours || own === undefined ? err.message : `${own}: ${err.message}`,
      ...(status === 400 && Number.isInteger(reading) ? { reading } : {}),
    });
  });

  const gatewayOf = async (req: FastifyRequest): Promise<string> => {
    const token = bearerToken(req.headers.authorization);
    const gatewayId = token === null ? null : await storage.gatewayForTokenHash(hashToken(token));
    if (gatewayId === null) throw httpError(401, 'CENTRAL_UNAUTHORIZED', 'missing or unknown gateway token (Authorization: Bearer <token>)');
    return gatewayId;
  };

  app.post<{ Body: { gatewayId: string } }>(
    '/v1/gateways',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['gatewayId'], properties: { gatewayId: { type: 'string', pattern: GATEWAY_ID_PATTERN.source } } } } },
    async (req, reply) => {
      const token = bearerToken(req.headers.authorization);
      if (token === null || !sameToken(token, options.adminToken)) throw httpError(401, 'CENTRAL_UNAUTHORIZED', 'registering a gateway needs the admin token');
      const gatewayToken = newToken();
      await storage.registerGateway(req.body.gatewayId, hashToken(gatewayToken), clock.now());
      return reply.code(201).send({ gatewayId: req.body.gatewayId, token: gatewayToken });
    },
  );

  // The gateway id comes from the token only, never from the body: a gateway can write only its own data.
  app.post<{ Body: { readings: Reading[] } }>(
    '/v1/ingest',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['readings'], properties: { readings: { type: 'array', items: readingSchema } } } } },
    async (req) => {
      const gatewayId = await gatewayOf(req);
      const { readings } = req.body;
      if (readings.length > maxBatch) throw httpError(413, 'CENTRAL_BATCH_TOO_LARGE', `a batch holds at most ${maxBatch} readings (got ${readings.length})`);
      // A reading from far in the future comes from a wrong clock; stored, it would make every
      // retraining of its sensor span years (and fail). Named, so the gateway sets it aside.
      const nowMs = clock.now();
      const ahead = readings.findIndex((r) => r.wallTimeMs > nowMs + MAX_REPORT_AHEAD_MS);
      if (ahead >= 0) {
        throw Object.assign(httpError(400, 'CENTRAL_INVALID_REQUEST', `body/readings/${ahead}/wallTimeMs ${new Date(readings[ahead]!.wallTimeMs).toISOString()} is more than ${MAX_REPORT_AHEAD_MS / 3_600_000} h ahead of the server's clock (${new Date(nowMs).toISOString()}); the gateway's clock is wrong`), { reading: ahead });
      }
      return storage.ingest(gatewayId, readings, nowMs);
    },
  );

  app.post<{ Body: Omit<ModelReport, 'atMs'> & { atMs?: number } }>(
    '/v1/reports',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'modelVersion', 'outcome'],
          properties: {
            kind: { enum: ['accuracy', 'rollout'] },
            modelVersion: { type: 'string', minLength: 1, maxLength: 128, pattern: NO_NUL },
            outcome: { type: 'string', minLength: 1, maxLength: 64, pattern: NO_NUL },
            maePerHorizon: { type: 'object', maxProperties: 64, additionalProperties: { type: 'number' } },
            accuracy: accuracySchema,
            atMs: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    async (req, reply) => {
      const gatewayId = await gatewayOf(req);
      checkAccuracyPresence(req.body);
      const id = await storage.addReport(gatewayId, { ...req.body, atMs: reportTime(req.body.atMs, clock.now()) });
      return reply.code(201).send({ id });
    },
  );

  // The fleet operator's view of live accuracy (admin token): what gateways measured, newest first.
  app.get<{ Querystring: { gateway?: string; sensor?: string; model?: string; limit?: string } }>(
    '/v1/accuracy',
    { schema: { querystring: accuracyQuerySchema } },
    async (req) => {
      const token = bearerToken(req.headers.authorization);
      if (token === null || !sameToken(token, options.adminToken)) throw httpError(401, 'CENTRAL_UNAUTHORIZED', 'listing accuracy needs the admin token');
      const { gateway, sensor, model } = req.query;
      const limit = Number(req.query.limit ?? DEFAULT_ACCURACY_LIMIT);
      if (!(limit >= 1 && limit <= MAX_ACCURACY_LIMIT)) throw httpError(400, 'CENTRAL_INVALID_REQUEST', `querystring/limit must be 1 to ${MAX_ACCURACY_LIMIT} (got ${req.query.limit})`);
      const reports = await storage.accuracyReports({ gatewayId: gateway, sensorId: sensor, modelVersion: model }, limit);
      return { reports: reports.map(accuracyView) };
    },
  );

  // Conditional GETs (RFC 9110 13.1.2): a gateway polling an unchanged model gets a bodiless 304.
  app.get('/v1/models/manifest', async (req, reply) => {
    await gatewayOf(req);
    const entry = options.registry?.production() ?? null;
    if (entry === null) throw httpError(404, 'CENTRAL_NO_MODEL', 'no model is in production yet');
    const body = JSON.stringify(entry.manifest);
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json').send(body);
  });

  app.get<{ Params: { version: string } }>('/v1/models/:version/artifact', async (req, reply) => {
    await gatewayOf(req);
    const bytes = /^[A-Za-z0-9._-]{1,128}$/.test(req.params.version) ? (options.registry?.artifact(req.params.version) ?? null) : null;
    if (bytes === null) throw httpError(404, 'CENTRAL_NO_MODEL', `no model ${req.params.version}`);
    const etag = `"${createHash('sha256').update(bytes).digest('hex')}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/octet-stream').send(bytes);
  });

  app.get('/v1/health', async () => ({ ok: true }));
  return app;
}
