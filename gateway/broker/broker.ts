import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type AedesOptions, type Client, type PublishPacket } from 'aedes';
import type { Logger } from '../log.ts';
import { createAuth, type AuthOptions } from './auth.ts';
import { BrokerError, type BrokerErrorCode } from './errors.ts';
import { DEFAULT_TOPIC_PREFIX, checkPrefix } from './topics.ts';

export interface BrokerOptions {
  /** Address to listen on ('0.0.0.0' for the LAN, '127.0.0.1' for this machine only). */
  host: string;
  /** TCP port; 0 picks a free one (tests), read the result from RunningBroker.port. */
  port: number;
  logger: Logger;
  /** Connections beyond this are closed as they arrive. Default 100. */
  maxClients?: number;
  /** Name of the setting that changes the port, quoted in the EADDRINUSE message. Default 'mqtt.port'. */
  optionName?: string;
  /** Gateway topics under this prefix may only be published by the gateway itself. Default 'hygrocast'. */
  topicPrefix?: string;
  /** Packets a client may queue before its session is established (Aedes queueLimit). Default 42. */
  queueLimit?: number;
  /** Messages Aedes delivers concurrently (Aedes concurrency). Default 100. */
  concurrency?: number;
  /** Longest client id accepted from MQTT 3.1 clients, in characters (the 3.1 spec said 23; 3.1.1 has no limit). Default 64. */
  maxClientsIdLength?: number;
  /** A client that sends no CONNECT within this is dropped, in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** A subscriber whose socket does not drain within this is dropped so it cannot stall the others, in ms. Default 10 000. */
  drainTimeoutMs?: number;
  /** Users, passwords and ACLs (auth.ts). Absent: anyone may connect, subscribe anywhere, publish outside the gateway's topics. */
  auth?: AuthOptions;
  /** A second, TLS listener on the same host, with a PEM certificate chain and key read at start. */
  tls?: { port: number; certFile: string; keyFile: string };
}

export const BROKER_DEFAULTS = {
  maxClients: 100,
  optionName: 'mqtt.port',
  queueLimit: 42,
  concurrency: 100,
  maxClientsIdLength: 64,
  connectTimeoutMs: 10_000,
  drainTimeoutMs: 10_000,
} as const;

export interface RunningBroker {
  /** The Aedes instance, for in-process publishing (MqttPublisher). */
  readonly aedes: Aedes;
  readonly host: string;
  /** The port actually bound (differs from the option when it was 0). */
  readonly port: number;
  /** The TLS port actually bound, or null without a TLS listener. */
  readonly tlsPort: number | null;
  /** Stops accepting, disconnects every client, closes the listener. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the embedded MQTT 3.1/3.1.1 broker (Aedes 1.x) on a TCP listener. Resolves once
 * listening; rejects with a BrokerError whose code is the listening error's (EADDRINUSE...) and
 * whose message names the address and the option that changes it. After start, client and
 * connection errors are logged and never reach the caller: a misbehaving client is its own problem.
 */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const o = { ...BROKER_DEFAULTS, ...withoutUndefined(options) };
  checkPort(o.port);
  const prefix = checkPrefix(o.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
  for (const key of ['maxClients', 'queueLimit', 'concurrency', 'maxClientsIdLength', 'connectTimeoutMs', 'drainTimeoutMs'] as const) {
    checkPositiveInt(key, o[key]);
  }
  const log = o.logger;
  const aedesOptions: AedesOptions = {
    queueLimit: o.queueLimit,
    concurrency: o.concurrency,
    maxClientsIdLength: o.maxClientsIdLength,
    connectTimeout: o.connectTimeoutMs,
    drainTimeout: o.drainTimeoutMs,
  };
  const aedes = await Aedes.createBroker(aedesOptions);
  const auth = o.auth ? createAuth(o.auth) : null;
  const guard = gatewayTopicsGuard(prefix);
  aedes.authorizePublish = auth
    ? (client, packet, callback) =>
        guard(client, packet, (err) => {
          if (err) return callback(err);
          if (!auth.mayPublish(client, packet.topic, packet.payload.length)) return callback(new Error(`publishing to ${packet.topic} is not allowed by the client's ACL`));
          callback(null);
        })
    : guard;
  if (auth) {
    aedes.authenticate = auth.authenticate;
    aedes.authorizeSubscribe = auth.authorizeSubscribe;
  }
  aedes.on('clientError', (client: Client, err: Error) => log.warn({ clientId: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (client: Client, err: Error) => log.warn({ clientId: client.id, err: err.message }, 'mqtt connection error'));
  aedes.on('client', (client: Client) => log.debug({ clientId: client.id }, 'mqtt client connected'));
  aedes.on('clientDisconnect', (client: Client) => log.debug({ clientId: client.id }, 'mqtt client disconnected'));

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  // Node closes connections beyond maxConnections as they arrive and reports them as 'drop'.
  server.maxConnections = o.maxClients;
  server.on('drop', (d) => log.warn({ remote: d?.remoteAddress, maxClients: o.maxClients }, 'mqtt connection refused: maxClients reached'));

  try {
    await listen(server, o.host, o.port);
  } catch (err) {
    await closeAedes(aedes);
    throw listenError(err, o.host, o.port, o.optionName);
  }
  server.on('error', (err) => log.error({ err }, 'mqtt listener error'));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  let tlsServer: tls.Server | null = null;
  let tlsPort: number | null = null;
  if (o.tls) {
    try {
      checkPort(o.tls.port);
      tlsServer = tls.createServer({ cert: readFileSync(o.tls.certFile), key: readFileSync(o.tls.keyFile) }, (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        aedes.handle(socket);
      });
      tlsServer.maxConnections = o.maxClients;
      // A failed handshake is the client's problem; log it instead of crashing.
      tlsServer.on('tlsClientError', (err) => log.warn({ err: err.message }, 'mqtt tls handshake failed'));
      await listen(tlsServer, o.host, o.tls.port);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAedes(aedes);
      if (err instanceof BrokerError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'EACCES' || (err as Error).message.includes('PEM')) {
        throw new BrokerError('BROKER_INVALID_OPTION', `cannot start the MQTT TLS listener: ${(err as Error).message} (check mqtt.tls.certFile and mqtt.tls.keyFile)`, { cause: err });
      }
      throw listenError(err, o.host, o.tls.port, 'mqtt.tls.port');
    }
    const a = tlsServer.address();
    tlsPort = typeof a === 'object' && a !== null ? a.port : o.tls.port;
    tlsServer.on('error', (err) => log.error({ err }, 'mqtt tls listener error'));
    log.info({ host: o.host, port: tlsPort }, 'mqtt tls listener up');
  }
  log.info({ host: o.host, port, maxClients: o.maxClients }, 'mqtt broker listening (MQTT 3.1.1)');

  let closing: Promise<void> | null = null;
  return {
    aedes,
    host: o.host,
    port,
    tlsPort,
    close: () => {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        const tlsClosed = new Promise<void>((resolve) => (tlsServer ? tlsServer.close(() => resolve()) : resolve()));
        await closeAedes(aedes);
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        await tlsClosed;
      })();
      return closing;
    },
  };
}

/**
 * Clients may publish anywhere except the gateway's own topics under the prefix (only
 * `<prefix>/ingest/...` and `<prefix>/bridge/request/...` are open to them), so nobody can fake a sensor value or the bridge
 * state. `$SYS/` stays reserved as in Aedes' default. A refused publish disconnects the
 * client; MQTT 3.1.1 has no way to tell it why [MQTT-3.3.5-2].
 */
function gatewayTopicsGuard(prefix: string): NonNullable<AedesOptions['authorizePublish']> {
  return (_client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => {
    const topic = packet.topic;
    if (topic.startsWith('$SYS/')) return callback(new Error('$SYS/ topics are reserved'));
    if ((topic === prefix || topic.startsWith(`${prefix}/`)) && !topic.startsWith(`${prefix}/ingest/`) && !topic.startsWith(`${prefix}/bridge/request/`)) {
      return callback(new Error(`topic ${topic} is published by the gateway only`));
    }
    callback(null);
  };
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()));
}

function listenError(err: unknown, host: string, port: number, optionName: string): BrokerError {
  const code = (err as { code?: string }).code;
  const where = `${host}:${port}`;
  const messages: Partial<Record<BrokerErrorCode, string>> = {
    EADDRINUSE: `MQTT port ${port} is already in use on ${host} (another broker such as mosquitto, or a second hygrocast?); stop it or choose another port with ${optionName}`,
    EACCES: `no permission to listen on MQTT port ${port} at ${host} (ports below 1024 need CAP_NET_BIND_SERVICE); choose another port with ${optionName}`,
    EADDRNOTAVAIL: `cannot listen on ${where} for MQTT: ${host} is not an address of this machine`,
  };
  const known = code !== undefined && code in messages ? (code as BrokerErrorCode) : undefined;
  const message = known ? messages[known]! : `cannot listen on ${where} for MQTT: ${(err as Error).message}`;
  return new BrokerError(known ?? 'BROKER_LISTEN_FAILED', message, { cause: err });
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BrokerError('BROKER_INVALID_OPTION', `port must be an integer from 0 to 65535 (got ${port})`);
  }
}

function checkPositiveInt(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BrokerError('BROKER_INVALID_OPTION', `${name} must be a positive integer (got ${value})`);
  }
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
