import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../clock.ts';
import { GatewayBus } from '../events.ts';
import { MemoryDashboardData } from './memory-data.ts';
import type { ServerMessage } from './messages.ts';
import { startDashboard } from './server.ts';
import type { DashboardOptions, RunningDashboard } from './server.ts';
import { forecast, gatewayInfo, reading, T0 } from './test-helpers.ts';

const silent = pino({ level: 'silent' });

/** A ws client that queues every message so a test can await them one by one, in order. */
class TestClient {
  readonly ws: WebSocket;
  readonly received: ServerMessage[] = [];
  private waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(port: number, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    this.ws.on('message', (data) => {
      this.received.push(JSON.parse(String(data)) as ServerMessage);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  /** Resolves with the message at `index` (0 = first) once it has arrived. */
  async message(index: number): Promise<ServerMessage> {
    while (this.received.length <= index) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received[index] as ServerMessage;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.terminate();
    await this.closed;
  }
}

describe('dashboard server', () => {
  let bus: GatewayBus;
  let data: MemoryDashboardData;
  let clock: ManualClock;
  let dashboard: RunningDashboard | null;
  let clients: TestClient[];
  let base: string;

  async function start(extra: Partial<DashboardOptions> = {}): Promise<RunningDashboard> {
    dashboard = await startDashboard({ host: '127.0.0.1', port: 0, bus, data, logger: silent, clock, ...extra });
    base = `http://127.0.0.1:${dashboard.port}`;
    return dashboard;
  }

  function client(headers?: Record<string, string>): TestClient {
    const c = new TestClient(dashboard!.port, headers);
    clients.push(c);
    return c;
  }

  async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(base + url);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  beforeEach(() => {
    clock = new ManualClock(T0);
    bus = new GatewayBus();
    data = new MemoryDashboardData(gatewayInfo);
    data.attach(bus);
    clients = [];
    dashboard = null;
    // Two sensors: one reading older than the snapshot window, then a minute-spaced half hour.
    bus.emit('reading', reading('kitchen', T0 - 2 * 3_600_000, 40, 0));
    for (let i = 1; i <= 30; i++) bus.emit('reading', reading('kitchen', T0 - (30 - i) * 60_000, 50 + i / 10, i));
    bus.emit('reading', reading('bath', T0 - 1000, 70, 1));
    data.setSensorSource('kitchen', 'sim:kitchen');
    bus.emit('link', 'sim:kitchen', 'up', 'simulator running');
    bus.emit('noForecast', { sensorId: 'bath', reason: 'no_history', detail: 'needs 24 steps, has 1' });
  });

  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await dashboard?.close();
  });

  it('serves the page with uPlot from the gateway and no external URL', async () => {
    await start();
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('/vendor/uplot/uPlot.iife.min.js');
    expect(html).toContain('/vendor/uplot/uPlot.min.css');
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) expect(ref).toMatch(/^\/(?!\/)/);
    expect(html).not.toMatch(/https?:\/\//);

    // The page's modules load only relative modules, and the CSP forbids anything foreign.
    for (const file of ['/app.js', '/lib/card.js', '/lib/state.js', '/lib/series.js', '/lib/trend.js', '/lib/backoff.js']) {
      const js = await fetch(base + file);
      expect(js.status, file).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      const text = await js.text();
      for (const [, spec] of text.matchAll(/^import .* from '([^']+)';$/gm)) expect(spec).toMatch(/^\.\//);
      expect(text).not.toMatch(/https?:\/\//);
    }
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('serves uPlot from node_modules and nothing else from that folder', async () => {
    await start();
    const dist = path.dirname(createRequire(import.meta.url).resolve('uplot'));
    const js = await fetch(`${base}/vendor/uplot/uPlot.iife.min.js`);
    expect(js.status).toBe(200);
    expect(await js.text()).toBe(await readFile(path.join(dist, 'uPlot.iife.min.js'), 'utf8'));
    const css = await fetch(`${base}/vendor/uplot/uPlot.min.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect((await fetch(`${base}/vendor/uplot/uPlot.d.ts`)).status).toBe(404);
    expect((await fetch(`${base}/vendor/uplot/../package.json`)).status).toBe(404);
  });

  it('lists sensors with their last reading and link state', async () => {
    await start();
    const res = await fetch(`${base}/api/sensors`);
    expect(res.status).toBe(200);
    const sensors = (await res.json()) as { sensorId: string; source: string | null; link: unknown; lastReading: { seq: number } | null }[];
    expect(sensors.map((s) => s.sensorId)).toEqual(['bath', 'kitchen']);
    const kitchen = sensors.find((s) => s.sensorId === 'kitchen');
    expect(kitchen?.lastReading?.seq).toBe(30);
    expect(kitchen?.source).toBe('sim:kitchen');
    expect(kitchen?.link).toEqual({ state: 'up', detail: 'simulator running' });
    expect(sensors.find((s) => s.sensorId === 'bath')?.link).toBeNull();
  });

  it('answers readings with since and limit, newest readings first cut', async () => {
    await start();
    const all = await getJson('/api/readings/kitchen');
    expect(all.status).toBe(200);
    expect((all.body.readings as unknown[]).length).toBe(31);
    const two = await getJson('/api/readings/kitchen?limit=2');
    expect((two.body.readings as { seq: number }[]).map((r) => r.seq)).toEqual([29, 30]);
    const since = await getJson(`/api/readings/kitchen?since=${T0 - 5 * 60_000}`);
    expect((since.body.readings as { seq: number }[]).map((r) => r.seq)).toEqual([25, 26, 27, 28, 29, 30]);
  });

  it.each([
    ['/api/readings/kitchen?limit=0', 'limit'],
    ['/api/readings/kitchen?limit=10001', 'limit'],
    ['/api/readings/kitchen?limit=ten', 'limit'],
    ['/api/readings/kitchen?limit=1&limit=2', 'limit'],
    ['/api/readings/kitchen?since=-5', 'since'],
    ['/api/readings/kitchen?since=yesterday', 'since'],
    ['/api/readings/kitchen?limt=5', 'limt'],
    [`/api/readings/${encodeURIComponent('no such sensor!')}`, 'sensor'],
    [`/api/forecast/${'x'.repeat(33)}`, 'sensor'],
  ])('GET %s answers 400 naming %s', async (url, parameter) => {
    await start();
    const res = await getJson(url);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('bad_request');
    expect(res.body.parameter).toBe(parameter);
    expect(String(res.body.message)).toContain(parameter);
  });

  it('answers 404 for an unknown sensor', async () => {
    await start();
    for (const url of ['/api/readings/garage', '/api/forecast/garage']) {
      const res = await getJson(url);
      expect(res.status, url).toBe(404);
      expect(res.body.error).toBe('unknown_sensor');
    }
  });

  it('answers the latest forecast, 503 with the reason the gateway refuses, or 404 before any cycle', async () => {
    await start();
    const none = await getJson('/api/forecast/bath');
    expect(none.status).toBe(503);
    expect(none.body).toMatchObject({ error: 'no_forecast', reason: 'no_history', detail: 'needs 24 steps, has 1' });
    const noReason = await getJson('/api/forecast/kitchen');
    expect(noReason.status).toBe(404);
    expect(noReason.body).toMatchObject({ error: 'no_forecast', reason: null });
    bus.emit('forecast', forecast('bath', T0, 66));
    const made = await getJson('/api/forecast/bath');
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ sensorId: 'bath', modelVersion: 'test-1' });
    expect((made.body.points as { rh: number }[])[0]?.rh).toBe(66);
    // A later refusal withdraws the forecast: the reason is served, not the stale forecast.
    bus.emit('noForecast', { sensorId: 'bath', reason: 'faulty_readings', detail: 'every reading is flagged' });
    const refused = await getJson('/api/forecast/bath');
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: 'no_forecast', message: 'no forecast for bath: faulty_readings (every reading is flagged)', sensor: 'bath', reason: 'faulty_readings', detail: 'every reading is flagged' });
    bus.emit('forecast', forecast('bath', T0 + 600_000, 67));
    expect(await getJson('/api/forecast/bath')).toMatchObject({ status: 200, body: { sensorId: 'bath', baseTimeMs: T0 + 600_000 } });
  });

  it('answers unknown routes with a JSON 404', async () => {
    await start();
    const res = await getJson('/api/nothing');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: 'not_found', message: expect.stringContaining('/api/nothing') });
  });

  it('answers /healthz', async () => {
    await start();
    const res = await getJson('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', websocket: { clients: 0, droppedSlow: 0 } });
  });

  it('sends a snapshot first, then readings and forecasts from the bus', async () => {
    await start();
    const c = client();
    const first = await c.message(0);
    expect(first.type).toBe('snapshot');
    if (first.type !== 'snapshot') return;
    expect(first.gateway.id).toBe('gw-test');
    const kitchen = first.sensors.find((s) => s.sensorId === 'kitchen');
    // The reading from two hours ago is outside the one-hour window.
    expect(kitchen?.readings.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(kitchen?.source).toBe('sim:kitchen');
    expect(first.sensors.find((s) => s.sensorId === 'bath')?.noForecast?.reason).toBe('no_history');
    expect(first.links).toEqual([{ source: 'sim:kitchen', state: 'up', detail: 'simulator running' }]);

    bus.emit('reading', reading('kitchen', T0 + 60_000, 55.5, 31));
    expect(await c.message(1)).toEqual({ type: 'reading', reading: reading('kitchen', T0 + 60_000, 55.5, 31) });
    bus.emit('forecast', forecast('kitchen', T0 + 60_000));
    expect(await c.message(2)).toEqual({ type: 'forecast', forecast: forecast('kitchen', T0 + 60_000) });
    bus.emit('link', 'sim:kitchen', 'down', 'no data for 5000 ms');
    expect(await c.message(3)).toEqual({ type: 'link', source: 'sim:kitchen', state: 'down', detail: 'no data for 5000 ms' });
  });

  it('thins a long snapshot to the configured points, keeping the newest reading', async () => {
    await start({ snapshotMaxPoints: 5 });
    const snap = await client().message(0);
    if (snap.type !== 'snapshot') throw new Error(`expected a snapshot, got ${snap.type}`);
    const seqs = snap.sensors.find((s) => s.sensorId === 'kitchen')?.readings.map((r) => r.seq);
    expect(seqs).toHaveLength(5);
    expect(seqs?.at(0)).toBe(1);
    expect(seqs?.at(-1)).toBe(30);
  });

  it('drops a client that stops reading while a normal client keeps receiving', async () => {
    const d = await start({ dropGraceMs: 5000 });
    const normal = client();
    const stalled = client();
    await normal.message(0);
    await stalled.message(0);
    // Stop reading from the socket: the kernel buffers fill, then the server-side queue.
    (stalled.ws as unknown as { _socket: net.Socket })._socket.pause();

    let seq = 1000;
    for (let batch = 0; batch < 2000 && d.stats().droppedSlow === 0; batch++) {
      for (let i = 0; i < 200; i++, seq++) bus.emit('reading', reading('kitchen', T0 + seq, 50, seq));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(d.stats().droppedSlow).toBe(1);

    // The normal client is still connected and gets everything, including what follows the drop.
    bus.emit('reading', reading('kitchen', T0 + seq, 42, seq));
    const emitted = seq - 1000 + 1;
    const last = await normal.message(emitted);
    expect(last).toEqual({ type: 'reading', reading: reading('kitchen', T0 + seq, 42, seq) });
    expect(normal.ws.readyState).toBe(WebSocket.OPEN);

    // The stalled client never takes its close frame; after the grace time it is destroyed.
    clock.advance(5000);
    await vi.waitFor(() => expect(d.stats().clients).toBe(1));
    expect(d.stats()).toMatchObject({ clients: 1, droppedSlow: 1 });
  });

  it('tells a slow client to come back later with close code 1013', async () => {
    // A queue bound of 2 is exceeded by a burst of synchronous emits, before any write completes.
    const d = await start({ maxQueuedMessages: 2 });
    const c = client();
    await c.message(0);
    for (let i = 0; i < 5; i++) bus.emit('reading', reading('kitchen', T0 + i, 50, 100 + i));
    expect(await c.closed).toBe(1013);
    expect(d.stats().droppedSlow).toBe(1);
  });

  it('refuses upgrades on other paths, from foreign origins and beyond maxClients', async () => {
    await start({ maxClients: 1 });
    const status = (url: string, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => reject(new Error(`${url} was accepted`)));
        ws.once('error', () => {});
      });
    expect(await status(`ws://127.0.0.1:${dashboard!.port}/other`)).toBe(404);
    expect(await status(`ws://127.0.0.1:${dashboard!.port}/ws`, { origin: 'http://evil.example' })).toBe(403);
    const ok = client({ origin: `http://127.0.0.1:${dashboard!.port}` });
    await ok.message(0);
    expect(await status(`ws://127.0.0.1:${dashboard!.port}/ws`)).toBe(503);
    expect(dashboard!.stats().refusedFull).toBe(1);
  });

  it('closes clients with 1001 on close()', async () => {
    const d = await start();
    const c = client();
    await c.message(0);
    await d.close();
    expect(await c.closed).toBe(1001);
    dashboard = null;
  });

  it('turns EADDRINUSE into an error naming the port and the option', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const err = await start({ port, optionName: 'dashboard.port or HYGROCAST_DASHBOARD_PORT' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EADDRINUSE' });
      expect((err as Error).message).toContain(String(port));
      expect((err as Error).message).toContain('dashboard.port or HYGROCAST_DASHBOARD_PORT');
      expect(bus.listenerCount('reading')).toBe(1); // only the data's own listener is left
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('rejects a bad option with an error naming it', async () => {
    await expect(start({ maxQueuedMessages: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('maxQueuedMessages') });
    await expect(start({ port: 70000 })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('port') });
  });
});
