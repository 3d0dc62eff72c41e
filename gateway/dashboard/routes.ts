import type { FastifyError, FastifyPluginAsync } from 'fastify';
import type { DashboardData } from './data.ts';
import type { LiveStats } from './live.ts';
import { ApiError, parseLimit, parseSensorId, parseSince, rejectUnknown } from './params.ts';

export interface ApiRoutesOptions {
  data: DashboardData;
  stats: () => LiveStats;
}

interface SensorRoute {
  Params: { sensor: string };
  Querystring: Record<string, unknown>;
}

function requireSensor(data: DashboardData, sensorId: string): void {
  if (!data.sensorIds().includes(sensorId)) {
    throw new ApiError(404, 'unknown_sensor', `no sensor with id ${JSON.stringify(sensorId)}`, { sensor: sensorId });
  }
}

/**
 * The JSON API: GET /healthz, /api/status, /api/sensors, /api/readings/:sensor, /api/forecast/:sensor.
 * Errors are JSON objects `{ error, message, ... }` where `error` is a stable code.
 */
export const apiRoutes: FastifyPluginAsync<ApiRoutesOptions> = async (app, { data, stats }) => {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.statusCode).send(err.body());
    const status = err.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: err.code ?? 'bad_request', message: err.message });
    req.log.error({ err, url: req.url }, 'dashboard API request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error (see the gateway log)' });
  });

  app.get('/healthz', async (_req, reply) => {
    const health = data.health?.();
    if (!health) return { status: 'ok', websocket: stats() };
    return reply.code(health.statusCode).send({ ...health.body, websocket: stats() });
  });

  app.get<SensorRoute>('/api/status', async (req) => {
    rejectUnknown(req.query, []);
    const status = data.status?.() ?? { mqttClients: null, syncBacklog: null, store: null };
    return { ...status, websocket: stats() };
  });

  app.get<SensorRoute>('/api/sensors', async (req) => {
    rejectUnknown(req.query, []);
    const links = data.linkStates();
    return data.sensorIds().map((sensorId) => {
      const source = data.sensorSource(sensorId);
      return {
        sensorId,
        source,
        link: source === null ? null : (links[source] ?? null),
        lastReading: data.readings(sensorId, 0, 1).at(-1) ?? null,
      };
    });
  });

  app.get<SensorRoute>('/api/readings/:sensor', async (req) => {
    const sensorId = parseSensorId(req.params.sensor);
    rejectUnknown(req.query, ['since', 'limit']);
    const since = parseSince(req.query.since);
    const limit = parseLimit(req.query.limit);
    requireSensor(data, sensorId);
    return { sensorId, since, limit, readings: data.readings(sensorId, since, limit) };
  });

  app.get<SensorRoute>('/api/forecast/:sensor', async (req) => {
    const sensorId = parseSensorId(req.params.sensor);
    rejectUnknown(req.query, []);
    requireSensor(data, sensorId);
    const forecast = data.latestForecast(sensorId);
    if (forecast) return forecast;
    const why = data.lastNoForecast(sensorId);
    // 503: the gateway refuses to forecast for now (stale or faulty inputs, clock...) and says why; 404: no cycle has run yet.
    if (why) throw new ApiError(503, 'no_forecast', `no forecast for ${sensorId}: ${why.reason} (${why.detail})`, { sensor: sensorId, reason: why.reason, detail: why.detail });
    throw new ApiError(404, 'no_forecast', `no forecast for ${sensorId} yet`, { sensor: sensorId, reason: null, detail: null });
  });
};
