import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess, waitFor, type GatewayProcess } from './gateway-process.ts';

/**
 * Shutdown as an operator meets it: Ctrl-C (twice, when the first has not finished yet) while the
 * uplink waits on a central server that accepted a batch and never answers. The gateway must
 * store its readings and exit 0, not sit out the 10-minute request timeout (the old shutdown
 * waited for the request before flushing) nor die on the second signal.
 */
describe('gateway shutdown', () => {
  let gw: GatewayProcess | null = null;
  let hung: net.Server | null = null;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    gw?.cleanup();
    gw = null;
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (hung ? hung.close(() => resolve()) : resolve()));
    hung = null;
  });

  it('stores the buffered readings and exits 0 on a second Ctrl-C while a sync request hangs', async () => {
    // A "central server" that reads requests and never answers.
    hung = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('data', () => {});
    });
    await new Promise<void>((resolve) => hung!.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as net.AddressInfo).port;
    gw = await startGatewayProcess({
      sources: [{ type: 'sim', sensors: ['sim-1'], intervalMs: 100 }],
      store: { flushIntervalMs: 1000 },
      mqtt: { enabled: false },
      dashboard: { enabled: false },
      forecast: { enabled: false },
      sync: { enabled: true, url: `http://127.0.0.1:${port}`, token: 'test-token-0123456789', requestTimeoutMs: 600_000, idlePollMs: 50 },
    });
    // Readings buffered, and the uplink's first request on the wire, unanswered.
    await waitFor(() => sockets.length > 0, 'the uplink to connect to the hung server', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exit = new Promise<number | null>((resolve) => gw!.child.once('exit', (code) => resolve(code)));
    gw.child.kill('SIGINT');
    await waitFor(() => gw!.logs.some((l) => l.msg === 'stopping'), 'the shutdown to start', 10_000);
    // Ctrl-C again while it runs (if it is still running): logged, never a kill.
    if (gw.child.exitCode === null) gw.child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(gw.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true);
    const db = new Database(path.join(gw.dataDir, 'hygrocast.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) FROM readings WHERE sensor_id = 'sim-1'").pluck().get()).toBeGreaterThan(5);
    } finally {
      db.close();
    }
  }, 60_000);
});
