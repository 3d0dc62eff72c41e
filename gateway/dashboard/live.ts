import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../clock.ts';
import type { GatewayBus } from '../events.ts';
import type { SensorAlertPayload } from '../forecast/alerts.ts';
import type { ForecastErrorReport } from '../forecast/forecast-log.ts';
import type { NoForecast } from '../forecast/forecaster.ts';
import type { SyncStatus } from '../sync/sync-types.ts';
import type { Forecast, LinkState, Reading } from '../types.ts';
import type { BackpressureLimits, Overload } from './backpressure.ts';
import { ClientChannel } from './client-channel.ts';
import type { DashboardData } from './data.ts';
import { Heartbeat } from './heartbeat.ts';
import { LatestEvents } from './latest.ts';
import type { ServerMessage } from './messages.ts';
import { buildSnapshot } from './snapshot.ts';
import type { SnapshotLimits } from './snapshot.ts';

/** Clients never need to send anything; a frame above this size closes the socket (code 1009). */
const MAX_INBOUND_BYTES = 4096;
/** WebSocket close codes (RFC 6455 section 7.4.1). */
const CLOSE_GOING_AWAY = 1001;
const CLOSE_INTERNAL_ERROR = 1011;

export interface LiveStats {
  /** Connected WebSocket clients. */
  clients: number;
  /** Clients dropped with 1013 because they fell behind, since start. */
  droppedSlow: number;
  /** Clients terminated because they missed a heartbeat pong, since start. */
  droppedDead: number;
  /** Upgrades refused because `maxClients` were connected, since start. */
  refusedFull: number;
}

export interface LiveHubOptions {
  bus: GatewayBus;
  data: DashboardData;
  clock: Clock;
  logger: Logger;
  /** URL path of the WebSocket endpoint. */
  path: string;
  limits: BackpressureLimits;
  snapshot: SnapshotLimits;
  heartbeatIntervalMs: number;
  dropGraceMs: number;
  maxClients: number;
  /** On stop, time clients get to answer the close frame before their sockets are destroyed. */
  closeGraceMs: number;
}

/**
 * The live side of the dashboard: accepts WebSocket upgrades on `path`, sends each client a
 * snapshot, then fans bus events out to every client through its bounded ClientChannel.
 * Misbehaving clients are logged and counted, never thrown: nothing a browser does can reach
 * the bus or the sources.
 */
export class LiveHub {
  private readonly wss: WebSocketServer;
  private readonly clients = new Map<WebSocket, ClientChannel>();
  private readonly heartbeat: Heartbeat<WebSocket>;
  private readonly counters = { droppedSlow: 0, droppedDead: 0, refusedFull: 0 };
  private server: Server | null = null;
  private readonly latest = new LatestEvents();
  private detachLatest: (() => void) | null = null;
  private stopping = false;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => this.upgrade(req, socket, head);
  private readonly onReading = (reading: Reading): void => this.broadcast({ type: 'reading', reading });
  private readonly onForecast = (forecast: Forecast): void => this.broadcast({ type: 'forecast', forecast });
  private readonly onNoForecast = (info: NoForecast): void => this.broadcast({ type: 'noForecast', info });
  private readonly onLink = (source: string, state: LinkState, detail: string): void =>
    this.broadcast({ type: 'link', source, state, detail });
  private readonly onAlert = (alert: SensorAlertPayload): void => this.broadcast({ type: 'alert', alert });
  private readonly onForecastError = (report: ForecastErrorReport): void => this.broadcast({ type: 'forecastError', report });
  private readonly onSync = (status: SyncStatus): void => this.broadcast({ type: 'sync', status });

  constructor(private readonly opts: LiveHubOptions) {
    // Compression off: it costs CPU on a Pi and hides the real backlog from bufferedAmount.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_INBOUND_BYTES, perMessageDeflate: false, clientTracking: false });
    this.heartbeat = new Heartbeat(
      opts.clock,
      opts.heartbeatIntervalMs,
      () => {
        this.counters.droppedDead++;
        opts.logger.info('dashboard client missed a heartbeat; connection dropped');
      },
      () => this.broadcast({ type: 'keepalive' }),
    );
  }

  start(server: Server): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
    const { bus } = this.opts;
    bus.on('reading', this.onReading).on('forecast', this.onForecast).on('noForecast', this.onNoForecast).on('link', this.onLink);
    bus.on('alert', this.onAlert).on('forecastError', this.onForecastError).on('sync', this.onSync);
    this.detachLatest = this.latest.attach(bus);
    this.heartbeat.start();
  }

  /** Stops listening to the bus, closes every client (1001) and resolves when all are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    const { bus, clock } = this.opts;
    bus.off('reading', this.onReading).off('forecast', this.onForecast).off('noForecast', this.onNoForecast).off('link', this.onLink);
    bus.off('alert', this.onAlert).off('forecastError', this.onForecastError).off('sync', this.onSync);
    this.detachLatest?.();
    this.detachLatest = null;
    this.server?.off('upgrade', this.onUpgrade);
    this.heartbeat.stop();
    const sockets = [...this.clients.keys()];
    const closed = sockets.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const ws of sockets) ws.close(CLOSE_GOING_AWAY, 'gateway shutting down');
    const timer: TimerHandle = clock.setTimeout(() => sockets.forEach((ws) => ws.terminate()), this.opts.closeGraceMs);
    await Promise.all(closed);
    clock.clearTimeout(timer);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  stats(): LiveStats {
    return { clients: this.clients.size, ...this.counters };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = new URL(req.url ?? '/', 'http://gateway').pathname;
    if (pathname !== this.opts.path) return refuse(socket, 404, 'Not Found');
    if (this.stopping) return refuse(socket, 503, 'Service Unavailable');
    if (!sameOrigin(req)) return refuse(socket, 403, 'Forbidden');
    if (this.clients.size >= this.opts.maxClients) {
      this.counters.refusedFull++;
      this.opts.logger.warn({ maxClients: this.opts.maxClients }, 'dashboard WebSocket refused: too many clients');
      return refuse(socket, 503, 'Service Unavailable');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    const { clock, logger } = this.opts;
    const channel = new ClientChannel(ws, this.opts.limits, clock, this.opts.dropGraceMs, (reason) => this.onOverload(reason));
    this.clients.set(ws, channel);
    this.heartbeat.track(ws);
    ws.on('pong', () => this.heartbeat.pong(ws));
    // 'error' precedes 'close' (e.g. a frame above maxPayload); the socket is closed by ws.
    ws.on('error', (err) => logger.debug({ err }, 'dashboard WebSocket error'));
    ws.on('close', () => {
      this.clients.delete(ws);
      this.heartbeat.untrack(ws);
      channel.dispose();
    });
    let snapshot: string;
    try {
      snapshot = JSON.stringify(buildSnapshot(this.opts.data, clock.now(), this.opts.snapshot, this.latest));
    } catch (err) {
      logger.error({ err }, 'dashboard snapshot failed; closing the WebSocket');
      ws.close(CLOSE_INTERNAL_ERROR, 'snapshot failed');
      return;
    }
    channel.send(snapshot);
  }

  private onOverload(reason: Overload): void {
    this.counters.droppedSlow++;
    this.opts.logger.warn({ reason, ...this.opts.limits }, 'dashboard client too slow; dropped with 1013 (it reconnects for a fresh snapshot)');
  }

  private broadcast(message: ServerMessage): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(message);
    for (const channel of this.clients.values()) channel.send(text);
  }
}

/** Answers an upgrade we will not accept with a plain HTTP status and closes the socket. */
function refuse(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => {}); // the peer may already be gone; nothing to do about it
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

/**
 * Browsers send Origin on WebSocket upgrades; refusing a foreign Origin stops any web page the
 * user visits from reading the gateway through their browser (cross-site WebSocket hijacking).
 * Non-browser clients send no Origin and are allowed.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
