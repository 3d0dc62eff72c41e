import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { systemClock } from '../gateway/clock.ts';
import type { ServerMessage } from '../gateway/dashboard/messages.ts';
import type { ReadingMessage } from '../firmware-bridge/messages.ts';
import { decodeLine, encodeMessage } from '../firmware-bridge/protocol.ts';
import { openPtyPair, type PtyPair } from '../device-sim/pty.ts';
import { SimulatedDevice } from '../device-sim/simulator.ts';
import { connectDevice } from '../device-sim/wire.ts';
import { requireTool } from './prereq.ts';
import { startGatewayProcess, waitFor, type GatewayProcess } from './gateway-process.ts';
import { cleanupAfterEach } from './cleanups.ts';

/**
 * The whole data path on real parts: a simulated device writes protocol lines into one end of a
 * real pseudo-terminal (socat); the gateway, as its own process, reads the other end through
 * serialport; a real mosquitto_sub receives readings and forecasts from the embedded broker; a
 * WebSocket client receives them from the dashboard; the SQLite file holds them.
 */
describe('end to end on a real pseudo-terminal', () => {
  const cleanups = cleanupAfterEach();

  it('readings flow from the serial device to MQTT, WebSocket and SQLite; garbage is counted and skipped; Ctrl-C stops cleanly', async () => {
    const socat = requireTool('socat');
    const mosquittoSub = requireTool('mosquitto_sub');
    if (!socat || !mosquittoSub) return;

    const pty: PtyPair = await openPtyPair();
    cleanups.push(() => pty.close());

    const gw: GatewayProcess = await startGatewayProcess({
      log: { level: 'debug' },
      sources: [{ type: 'serial', path: pty.gatewayPath, dataTimeoutMs: 5000 }],
      store: { flushIntervalMs: 200 },
      forecast: { checkIntervalMs: 300 },
    });
    cleanups.push(() => gw.cleanup());

    // A real mosquitto_sub process on the gateway's broker.
    const sub: ChildProcessWithoutNullStreams = spawn(mosquittoSub, ['-h', '127.0.0.1', '-p', String(gw.mqttPort), '-t', 'hygrocast/#', '-v']);
    cleanups.push(() => void sub.kill());
    const mqttLines: string[] = [];
    let partial = '';
    sub.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      mqttLines.push(...parts);
    });

    // A WebSocket client on the dashboard.
    const wsMessages: ServerMessage[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${gw.dashboardPort}/ws`);
    cleanups.push(() => ws.close());
    ws.on('message', (data: Buffer) => wsMessages.push(JSON.parse(data.toString()) as ServerMessage));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });

    // The device: the simulator speaking protocol v1 through serialport on the other pty end.
    const port = new SerialPort({ path: pty.devicePath, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.once('open', () => resolve()).once('error', reject));
    cleanups.push(() => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())));
    const device = new SimulatedDevice({ sensorIds: ['e2e-1'], clock: systemClock, intervalMs: 200, seed: 7 });
    const sent: ReadingMessage[] = [];
    // What went over the wire: the encoded line decoded again (values rounded as the protocol sends them).
    device.on('message', (m) => {
      const wire = decodeLine(encodeMessage(m).trimEnd());
      if (wire.ok && wire.message.type === 'R') sent.push(wire.message);
    });
    const wire = connectDevice(device, port, (err) => {
      throw err;
    });
    cleanups.push(() => wire.disconnect());
    device.start();
    cleanups.push(() => device.stop());

    const mqttStates = (): string[] => mqttLines.filter((l) => l.startsWith('hygrocast/e2e-1 '));
    await waitFor(() => mqttStates().length >= 5, 'five readings on mosquitto_sub');

    // Garbage on the serial link: a line with a bad checksum and a line of noise.
    port.write('$HC1,R,e2e-1,999,1,50.00,20.00,0*0000\n');
    port.write('\u0001\u00ffnoise that is not a frame\n');
    const seqAfterGarbage = (sent.at(-1)?.seq ?? 0) + 1;
    await waitFor(() => sent.some((m) => m.seq >= seqAfterGarbage + 3), 'three more readings after the garbage');
    await waitFor(
      () => gw.logs.filter((l) => l.msg === 'line rejected').length >= 2,
      'both garbage lines counted as rejected',
    );
    const reasons = gw.logs.filter((l) => l.msg === 'line rejected').map((l) => l.reason);
    expect(reasons).toEqual(expect.arrayContaining(['checksum', 'unparsable']));

    // Forecasts reach MQTT and the WebSocket.
    await waitFor(() => mqttLines.some((l) => l.startsWith('hygrocast/e2e-1/forecast ')), 'a forecast on MQTT');
    await waitFor(() => wsMessages.some((m) => m.type === 'forecast'), 'a forecast on the WebSocket');
    await waitFor(() => wsMessages.filter((m) => m.type === 'reading').length >= 5, 'readings on the WebSocket');

    device.stop();
    wire.disconnect();
    const lastSent = sent.at(-1)?.seq ?? -1;
    await waitFor(() => mqttStates().some((l) => (JSON.parse(l.slice(l.indexOf(' ') + 1)) as { seq: number }).seq === lastSent), 'the last reading on MQTT');

    // MQTT payloads carry exactly what the device measured.
    const byState = new Map(mqttStates().map((l) => {
      const s = JSON.parse(l.slice(l.indexOf(' ') + 1)) as { seq: number; humidity: number; temperature: number; units: unknown };
      return [s.seq, s];
    }));
    for (const m of sent.filter((r) => byState.has(r.seq))) {
      expect(byState.get(m.seq)?.humidity).toBe(m.rh);
      expect(byState.get(m.seq)?.temperature).toBe(m.tempC);
    }
    // The plain topic is published right after the state in the same batch; mosquitto_sub may print it a moment later.
    await waitFor(() => mqttLines.includes(`hygrocast/e2e-1/humidity ${String(sent.at(-1)?.rh)}`), 'the last humidity on its plain topic');
    expect(mqttLines).toContain(`hygrocast/e2e-1/humidity ${String(sent.at(-1)?.rh)}`);
    expect(mqttLines).toContain('hygrocast/bridge/state online');
    const forecastLine = mqttLines.find((l) => l.startsWith('hygrocast/e2e-1/forecast ')) ?? '';
    const forecast = JSON.parse(forecastLine.slice(forecastLine.indexOf(' ') + 1)) as { points: { horizon_s: number; humidity: number; lower: number; upper: number }[] };
    expect(forecast.points.length).toBeGreaterThan(0);
    for (const p of forecast.points) {
      expect(p.lower).toBeLessThanOrEqual(p.humidity);
      expect(p.upper).toBeGreaterThanOrEqual(p.humidity);
    }

    // The WebSocket saw a snapshot first, then readings with the device's values.
    expect(wsMessages[0]?.type).toBe('snapshot');
    const wsReadings = wsMessages.flatMap((m) => (m.type === 'reading' ? [m.reading] : []));
    for (const r of wsReadings) expect(r.rh).toBe(sent.find((m) => m.seq === r.seq)?.rh);

    // Ctrl-C: offline status published, broker closed, store flushed; exit code 0.
    const code = await gw.stop('SIGINT');
    expect(code).toBe(0);
    await waitFor(() => mqttLines.includes('hygrocast/bridge/state offline'), 'offline status on mosquitto_sub', 5000);
    expect(gw.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true);

    // Every reading the device sent while the gateway was reading is in the SQLite file, including
    // the ones right after the garbage.
    const db = new Database(path.join(gw.dataDir, 'hygrocast.db'), { readonly: true });
    cleanups.push(() => void db.close());
    expect((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok');
    const stored = new Map(
      (db.prepare("SELECT seq, rh, temp_c FROM readings WHERE sensor_id = 'e2e-1'").all() as { seq: number; rh: number; temp_c: number }[]).map((r) => [r.seq, r]),
    );
    const firstStored = Math.min(...stored.keys());
    expect(firstStored).toBeLessThanOrEqual(2);
    const expected = sent.filter((m) => m.seq >= firstStored);
    expect(expected.length).toBeGreaterThan(8);
    for (const m of expected) {
      expect(stored.get(m.seq), `seq ${m.seq} stored`).toEqual({ seq: m.seq, rh: m.rh, temp_c: m.tempC });
    }
    expect(stored.has(seqAfterGarbage)).toBe(true);
    expect(stored.has(999)).toBe(false);
  }, 60_000);
});
