import net from 'node:net';
import type { Clock } from '../clock.ts';
import { HealthError, checkIntOption } from './errors.ts';
import { describeError, type CheckResult, type HealthCheck } from './health.ts';

/** How long the probe waits for CONNACK after starting to connect, in ms. */
export const DEFAULT_BROKER_PROBE_TIMEOUT_MS = 2000;

/** MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3], for the failure detail. */
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export interface BrokerProbeOptions {
  /** Port of the embedded broker (RunningBroker.port). */
  port: number;
  /** Address to connect to. Default '127.0.0.1' (see probeHostFor). */
  host?: string;
  clock: Clock;
  timeoutMs?: number;
  /** MQTT client id of the probe; at most 23 characters so every 3.1.1 broker accepts it [MQTT-3.1.3-5]. */
  clientId?: string;
}

/**
 * Where to reach a broker listening on `listenHost`: a wildcard address is reached on the
 * loopback, a specific address on itself (a broker bound to a LAN address is not on 127.0.0.1).
 */
export function probeHostFor(listenHost: string): string {
  return listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '' ? '127.0.0.1' : listenHost;
}

/** An MQTT 3.1.1 CONNECT packet: clean session, no credentials, keep-alive 10 s [MQTT-3.1]. */
export function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  if (id.length === 0 || id.length > 23) {
    throw new HealthError('HEALTH_INVALID_ARGUMENT', `the probe's MQTT client id must be 1-23 bytes (got ${JSON.stringify(clientId)})`);
  }
  const variableHeader = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]);
  const remaining = variableHeader.length + 2 + id.length; // < 128, so one length byte
  return Buffer.concat([Buffer.from([0x10, remaining]), variableHeader, Buffer.from([id.length >> 8, id.length & 0xff]), id]);
}

/** DISCONNECT [MQTT-3.14]: lets the broker drop the session without logging a lost client. */
const DISCONNECT = Buffer.from([0xe0, 0x00]);

/**
 * Opens a TCP connection, sends CONNECT and resolves once a CONNACK with return code 0
 * arrives, then disconnects. Rejects with HealthError HEALTH_PROBE_FAILED (errno: the socket
 * error's code, 'ETIMEDOUT' after timeoutMs, 'ABORT_ERR' when `signal` aborts, or
 * 'CONNACK_<n>' when refused). The socket is always destroyed before the promise settles.
 */
export function probeBroker(options: BrokerProbeOptions, signal?: AbortSignal): Promise<void> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = checkIntOption('timeoutMs', options.timeoutMs ?? DEFAULT_BROKER_PROBE_TIMEOUT_MS, 1, 60_000);
  checkIntOption('port', options.port, 1, 65535);
  const packet = connectPacket(options.clientId ?? `hc-health-${process.pid}`);
  const where = `${host}:${options.port}`;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let received = Buffer.alloc(0);
    const socket = net.connect({ host, port: options.port });
    const finish = (err: HealthError | null): void => {
      if (settled) return;
      settled = true;
      options.clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.end(DISCONNECT, () => socket.destroy());
        resolve();
      }
    };
    const fail = (errno: string, why: string): void =>
      finish(new HealthError('HEALTH_PROBE_FAILED', `MQTT broker at ${where}: ${why}`, { errno }));
    const onAbort = (): void => fail('ABORT_ERR', 'probe aborted');
    const timer = options.clock.setTimeout(() => fail('ETIMEDOUT', `no CONNACK within ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(packet));
    socket.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'EIO', err.message));
    socket.on('close', () => fail('ECONNRESET', 'connection closed before CONNACK'));
    socket.on('data', (chunk: Buffer) => {
      // Only the 4-byte CONNACK matters; anything after it is not read (bounded buffer).
      received = Buffer.concat([received, chunk]).subarray(0, 4);
      if (received.length < 4) return;
      if (received[0] !== 0x20 || received[1] !== 0x02) return fail('EPROTO', `answered 0x${received.subarray(0, 2).toString('hex')} instead of a CONNACK`);
      const rc = received[3] ?? 0;
      if (rc !== 0) return fail(`CONNACK_${rc}`, `refused the connection (return code ${rc}: ${CONNACK_REASONS[rc] ?? 'unknown'})`);
      finish(null);
    });
  });
}

/** "The broker accepts clients": an MQTT CONNECT/CONNACK round trip to it succeeds. */
export class BrokerAcceptingCheck implements HealthCheck {
  readonly name = 'broker';

  constructor(private readonly options: BrokerProbeOptions) {
    checkIntOption('port', options.port, 1, 65535);
  }

  async run(signal: AbortSignal): Promise<CheckResult> {
    const started = this.options.clock.monotonic();
    try {
      await probeBroker(this.options, signal);
      return { ok: true, detail: `CONNACK in ${Math.round(this.options.clock.monotonic() - started)} ms` };
    } catch (err) {
      return { ok: false, detail: describeError(err) };
    }
  }
}
