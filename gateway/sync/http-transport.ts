import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { StoredReading } from '../store/store.ts';
import { syncErrorOf, type CentralRequest } from './http-failure.ts';
import { ReadingRefusedError, SyncError, type SyncAck, type SyncMark, type SyncTransport } from './sync-types.ts';

const gzip = promisify(zlib.gzip);

export interface HttpTransportOptions {
  /** Base URL of the central server, e.g. http://central.lan:8090. */
  url: string;
  /** This gateway's bearer token (from POST /v1/gateways). */
  token: string;
  /** Time to wait for the server's answer, in ms. Default 15 000. */
  requestTimeoutMs?: number;
  /** Time a reachability probe waits for a TCP connect, in ms. Default 500. */
  probeTimeoutMs?: number;
  /** Bound of the answer's body, in bytes. Default 1 MiB. */
  maxResponseBytes?: number;
}

/**
 * POST /v1/ingest with a gzip-compressed JSON body over one keep-alive connection. The reading's
 * store id stays on the gateway (the server keys on sensor, boot and seq).
 */
export class HttpSyncTransport implements SyncTransport {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly probeTimeoutMs: number;
  private readonly maxResponseBytes: number;
  /** Describes a failed ingest request (http-failure.ts). */
  private readonly request: CentralRequest;

  constructor(private readonly options: HttpTransportOptions) {
    this.base = new URL(options.url);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new RangeError(`sync.url must be http:// or https:// (got ${options.url})`);
    this.agent = this.base.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.timeoutMs = options.requestTimeoutMs ?? 15_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 500;
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.request = { origin: this.base.origin, what: 'the batch', timeoutMs: this.timeoutMs };
  }

  async send(readings: readonly StoredReading[]): Promise<SyncAck> {
    const body = await gzip(Buffer.from(JSON.stringify({ readings: readings.map(wire) })));
    const { status, text } = await this.post('/v1/ingest', body);
    if (status !== 200) {
      const err = syncErrorOf({ status, answer: text }, this.request);
      const index = status === 400 ? refusedIndex(text, readings.length) : null;
      throw index === null ? err : new ReadingRefusedError(index, err.message);
    }
    let marks: SyncMark[];
    try {
      marks = (JSON.parse(text) as { marks: SyncMark[] }).marks;
      if (!Array.isArray(marks)) throw new Error('no marks array');
    } catch (err) {
      throw new SyncError('SYNC_BAD_ACK', `central's answer is not an ingest result: ${(err as Error).message}`);
    }
    return { marks, wireBytes: body.length };
  }

  reachable(): Promise<boolean> {
    return new Promise((resolve) => {
      const port = Number(this.base.port || (this.base.protocol === 'https:' ? 443 : 80));
      const socket = net.connect({ host: this.base.hostname, port });
      const done = (up: boolean): void => {
        socket.destroy();
        resolve(up);
      };
      socket.setTimeout(this.probeTimeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private post(pathName: string, body: Buffer): Promise<{ status: number; text: string }> {
    const url = new URL(pathName, this.base);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': body.length,
          authorization: `Bearer ${this.options.token}`,
        },
      });
      // Named like AbortSignal.timeout's reason, which syncErrorOf maps to SYNC_TIMEOUT.
      req.setTimeout(this.timeoutMs, () => req.destroy(new DOMException(`no answer within ${this.timeoutMs} ms`, 'TimeoutError')));
      req.once('error', (err) => reject(syncErrorOf({ error: err }, this.request)));
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxResponseBytes) req.destroy(new SyncError('SYNC_BAD_ACK', `answer larger than ${this.maxResponseBytes} bytes`));
          else chunks.push(c);
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.once('error', (err) => reject(syncErrorOf({ error: err }, this.request)));
      });
      req.end(body);
    });
  }
}

/** The index of the one reading a 400 answer names (`{ reading: i }`, central/server.ts), or null. */
function refusedIndex(answer: string, batchLength: number): number | null {
  try {
    const index = (JSON.parse(answer) as { reading?: unknown }).reading;
    return Number.isInteger(index) && (index as number) >= 0 && (index as number) < batchLength ? (index as number) : null;
  } catch {
    return null;
  }
}

function wire(r: StoredReading): Omit<StoredReading, 'id'> {
  return { sensorId: r.sensorId, bootId: r.bootId, seq: r.seq, uptimeMs: r.uptimeMs, wallTimeMs: r.wallTimeMs, rh: r.rh, tempC: r.tempC, quality: r.quality };
}
