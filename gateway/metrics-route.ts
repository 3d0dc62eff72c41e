import type { FastifyPluginAsync } from 'fastify';
import type { GatewayMetrics } from './metrics.ts';

/** GET /metrics in the Prometheus text format, for the dashboard's `extraRoutes` option. */
export function metricsRoute(metrics: GatewayMetrics): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  };
}
