import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController } from 'fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { systemClock } from '../clock.ts';
import type { Clock } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_QUEUED_MESSAGES } from './backpressure.ts';
import { DEFAULT_DROP_GRACE_MS } from './client-channel.ts';
import type { DashboardData } from './data.ts';
import { DashboardError, listenError } from './errors.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './heartbeat.ts';
import { LiveHub } from './live.ts';
import type { LiveStats } from './live.ts';
import { apiRoutes } from './routes.ts';
import { DEFAULT_SNAPSHOT_FETCH_LIMIT, DEFAULT_SNAPSHOT_HISTORY_FETCH_LIMIT, DEFAULT_SNAPSHOT_HISTORY_WINDOW_MS, DEFAULT_SNAPSHOT_MAX_POINTS, DEFAULT_SNAPSHOT_WINDOW_MS } from './snapshot.ts';
import { securityHeaders } from './security.ts';

/** Default bound of concurrent WebSocket clients (each holds up to maxBufferedBytes). */
export const DEFAULT_MAX_CLIENTS = 32;
/** Default time clients get to answer the close frame on shutdown. */
export const DEFAULT_CLOSE_GRACE_MS = 1000;
/** The dashboard accepts no request bodies; anything larger than this is refused (413). */
const BODY_LIMIT_BYTES = 1024;
/** A request must arrive completely within this time (slowloris protection on a small Pi). */
const REQUEST_TIMEOUT_MS = 10_000;

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
/** uPlot is served from node_modules: the LAN may have no internet, so nothing loads from a CDN. */
const UPLOT_DIR = path.dirname(createRequire(import.meta.url).resolve('uplot'));
const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css'] as const;

export interface DashboardOptions {
  /** Address to listen on (e.g. "0.0.0.0" for the LAN, "127.0.0.1" for tests). */
  host: string;
  /** TCP port; 0 picks a free one (the handle reports it). */
  port: number;
  bus: GatewayBus;
  data: DashboardData;
  /** Logger for the dashboard (the caller passes a child, e.g. `{ component: 'dashboard' }`). */
  logger: Logger;
  /** How the operator changes the port, quoted in the EADDRINUSE message. Default "dashboard.port". */
  optionName?: string;
  /** Per-client bound of messages not yet written to the kernel. Default 1000. */
  maxQueuedMessages?: number;
  /** Per-client bound of bytes waiting in the socket buffer (bufferedAmount). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Ping interval; a client missing one pong is dropped at the next ping. Default 30 000 ms. */
  heartbeatIntervalMs?: number;
  /** Time a slow client gets to take its 1013 close frame before it is destroyed. Default 5000 ms. */
  dropGraceMs?: number;
  /** Concurrent WebSocket clients; further upgrades get HTTP 503. Default 32. */
  maxClients?: number;
  /** Readings window of the snapshot sent on connect. Default 3 600 000 ms (one hour). */
  snapshotWindowMs?: number;
  /** Readings fetched per sensor for a snapshot (newest first). Default 3600. */
  snapshotFetchLimit?: number;
  /** Readings sent per sensor in a snapshot, thinned evenly. Default 600. */
  snapshotMaxPoints?: number;
  /** Span of the per-minute history before the readings window. Default 86 400 000 ms (24 h). */
  snapshotHistoryWindowMs?: number;
  /** Readings read per sensor to build that history when `data` has no history() (the newest win). Default 90 000 (25 h at 1 Hz). */
  snapshotHistoryFetchLimit?: number;
  /** On close(), time clients get to answer the close frame. Default 1000 ms. */
  closeGraceMs?: number;
  /** Time source for snapshots, heartbeats and grace timers. Default the system clock. */
  clock?: Clock;
  /**
   * More routes on the same port, registered after the API (the composition root adds
   * GET /metrics this way, so the dashboard never imports the metrics module).
   */
  extraRoutes?: FastifyPluginAsync;
}

export interface RunningDashboard {
  /** The port actually listened on (useful with port 0). */
  readonly port: number;
  /** WebSocket counters (also served at /healthz). */
  stats(): LiveStats;
  /** Closes every WebSocket (1001), then the HTTP server. Resolves when all sockets are closed. */
  close(): Promise<void>;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new DashboardError('INVALID_OPTION', `dashboard option ${name} must be a positive integer, got ${String(value)}`);
  return v;
}

function validPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new DashboardError('INVALID_OPTION', `dashboard option port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  return port;
}

/**
 * Starts the dashboard: the page, the JSON API and the live WebSocket at /ws, on one port.
 * Rejects with a DashboardError (code EADDRINUSE, EACCES, LISTEN_FAILED or INVALID_OPTION);
 * after it resolves, client problems are logged and counted, never thrown.
 */
export async function startDashboard(opts: DashboardOptions): Promise<RunningDashboard> {
  const port = validPort(opts.port);
  const clock = opts.clock ?? systemClock;
  const { logger } = opts;
  const hub = new LiveHub({
    bus: opts.bus,
    data: opts.data,
    clock,
    logger,
    path: '/ws',
    limits: {
      maxBufferedBytes: positiveInt('maxBufferedBytes', opts.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES),
      maxQueuedMessages: positiveInt('maxQueuedMessages', opts.maxQueuedMessages, DEFAULT_MAX_QUEUED_MESSAGES),
    },
    snapshot: {
      windowMs: positiveInt('snapshotWindowMs', opts.snapshotWindowMs, DEFAULT_SNAPSHOT_WINDOW_MS),
      fetchLimit: positiveInt('snapshotFetchLimit', opts.snapshotFetchLimit, DEFAULT_SNAPSHOT_FETCH_LIMIT),
      maxPoints: positiveInt('snapshotMaxPoints', opts.snapshotMaxPoints, DEFAULT_SNAPSHOT_MAX_POINTS),
      historyWindowMs: positiveInt('snapshotHistoryWindowMs', opts.snapshotHistoryWindowMs, DEFAULT_SNAPSHOT_HISTORY_WINDOW_MS),
      historyFetchLimit: positiveInt('snapshotHistoryFetchLimit', opts.snapshotHistoryFetchLimit, DEFAULT_SNAPSHOT_HISTORY_FETCH_LIMIT),
    },
    heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', opts.heartbeatIntervalMs, DEFAULT_HEARTBEAT_INTERVAL_MS),
    dropGraceMs: positiveInt('dropGraceMs', opts.dropGraceMs, DEFAULT_DROP_GRACE_MS),
    maxClients: positiveInt('maxClients', opts.maxClients, DEFAULT_MAX_CLIENTS),
    closeGraceMs: positiveInt('closeGraceMs', opts.closeGraceMs, DEFAULT_CLOSE_GRACE_MS),
  });

  const app = Fastify({
    loggerInstance: logger,
    // Per-request info logs would flood a Pi's journal from API polling; onResponse logs at debug.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'dashboard request');
  });
  app.addHook('onSend', securityHeaders);
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', index: 'index.html' });
  for (const file of UPLOT_FILES) {
    app.get(`/vendor/uplot/${file}`, (_req, reply) => reply.sendFile(file, UPLOT_DIR));
  }
  await app.register(apiRoutes, { data: opts.data, stats: () => hub.stats() });
  if (opts.extraRoutes) await app.register(opts.extraRoutes);
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no such page or API route: ${req.method} ${req.url}` }));

  hub.start(app.server);
  try {
    await app.listen({ host: opts.host, port });
  } catch (err) {
    await hub.stop();
    await app.close().catch(() => {}); // the listen error is the one worth reporting
    throw listenError(err, opts.host, port, opts.optionName ?? 'dashboard.port');
  }
  const actualPort = (app.server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  return {
    port: actualPort,
    stats: () => hub.stats(),
    close: () =>
      (closing ??= (async () => {
        await hub.stop();
        await app.close();
      })()),
  };
}
