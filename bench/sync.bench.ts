import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { hashToken, newToken } from '../central/auth.ts';
import { buildCentralServer } from '../central/server.ts';
import { SqliteCentralStorage } from '../central/storage/sqlite-storage.ts';
import { systemClock } from '../gateway/clock.ts';
import { SqliteStore } from '../gateway/store/sqlite-store.ts';
import { HttpSyncTransport } from '../gateway/sync/http-transport.ts';
import { SyncUplink } from '../gateway/sync/uplink.ts';
import { backlogReading } from '../test/sync-helpers.ts';
import { emit } from './figure.ts';

/**
 * `npm run bench -- sync`: drains a 1,000,000-reading backlog from the gateway's SQLite store to
 * the central server (SQLite, synchronous = FULL) on loopback through the real uplink (gzip JSON,
 * 5000 readings per batch), against a naive peer: one plain-JSON POST per reading to the same
 * server, over a bounded sample (5000 readings or 15 s) with the rate extrapolated.
 * Bytes on the wire are everything the server's sockets read (request lines, headers and bodies).
 * Gateway and server share this one process (and the 2 cores with whatever else runs).
 */
const BACKLOG = 1_000_000;
const PEER_SAMPLE = 5000;
const PEER_MAX_MS = 15_000;

export async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-bench-sync-'));
  const storage = new SqliteCentralStorage({ dataDir: path.join(dir, 'central') });
  await storage.start();
  const app = await buildCentralServer({ storage, adminToken: newToken(), clock: systemClock });
  const sockets = new Set<Socket>();
  let closedBytes = 0;
  app.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => {
      closedBytes += s.bytesRead;
      sockets.delete(s);
    });
  });
  const bytesRead = (): number => closedBytes + [...sockets].reduce((n, s) => n + s.bytesRead, 0);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const token = newToken();
  await storage.registerGateway('bench', hashToken(token), Date.now());

  try {
    process.stderr.write(`filling a ${BACKLOG}-reading backlog...\n`);
    const store = new SqliteStore({ dataDir: path.join(dir, 'gateway'), syncEnabled: true, retentionBytes: null, maxPendingReadings: 50_000 });
    for (let i = 0; i < BACKLOG; i++) store.append(backlogReading(i));
    store.flush();

    const transport = new HttpSyncTransport({ url: `http://127.0.0.1:${port}`, token });
    const uplink = new SyncUplink({ source: store, transport, clock: systemClock, batchSize: 5000 });
    const bytes0 = bytesRead();
    const t0 = performance.now();
    while (await uplink.step()) {
      // step() sends one batch and marks it synced
    }
    const seconds = (performance.now() - t0) / 1000;
    const uplinkBytes = (bytesRead() - bytes0) / BACKLOG;
    if ((await storage.countReadings('bench')) !== BACKLOG) throw new Error('the central store does not hold the whole backlog');
    transport.close();
    store.close();
    process.stderr.write(`uplink drained ${BACKLOG} in ${seconds.toFixed(1)} s; naive peer...\n`);

    const peer = await naivePeer(port, token, bytesRead);
    emit({ bench: 'sync', figure: 'readings_per_s', value: BACKLOG / seconds, unit: 'readings/s', peer: 'json-per-reading', peer_value: peer.rate, backlog: BACKLOG, peer_sample: peer.sent });
    emit({ bench: 'sync', figure: 'bytes_per_reading', value: uplinkBytes, unit: 'bytes/reading', peer: 'json-per-reading', peer_value: peer.bytesPerReading });
  } finally {
    await app.close();
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One keep-alive POST of plain JSON per reading, waiting for each answer (what a naive uplink does). */
async function naivePeer(port: number, token: string, bytesRead: () => number): Promise<{ rate: number; bytesPerReading: number; sent: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const bytes0 = bytesRead();
  const t0 = performance.now();
  let sent = 0;
  while (sent < PEER_SAMPLE && performance.now() - t0 < PEER_MAX_MS) {
    // Fresh identities (boot "peer") so the peer's rows are real inserts, not replays.
    const body = JSON.stringify({ readings: [{ ...backlogReading(sent), bootId: 'peer' }] });
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/ingest', method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } });
      req.once('error', reject);
      req.once('response', (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`peer POST answered ${res.statusCode}`))));
      });
      req.end(body);
    });
    sent++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const bytes = bytesRead() - bytes0;
  agent.destroy();
  return { rate: sent / seconds, bytesPerReading: bytes / sent, sent };
}
