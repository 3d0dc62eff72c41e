import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { SimulatedDevice } from '../../device-sim/simulator.ts';
import { openPtyPair } from '../../device-sim/pty.ts';
import type { PtyPair } from '../../device-sim/pty.ts';
import { connectDevice } from '../../device-sim/wire.ts';
import type { Message, ReadingMessage } from '../../firmware-bridge/messages.ts';
import { requireTool } from '../../test/prereq.ts';
import { systemClock } from '../clock.ts';
import type { LinkState, Reading } from '../types.ts';
import { SerialSource } from './serial-source.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

const socat = requireTool('socat');

/** Polls until `check` is true; the deadline only bounds a hung test, it asserts nothing about speed. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface DeviceEnd {
  device: SimulatedDevice;
  port: SerialPort;
  sent: Message[];
  writeRaw(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A SimulatedDevice on the device end of the pty pair, through serialport like real firmware. */
async function startDevice(path: string, seed: number, run = true): Promise<DeviceEnd> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const device = new SimulatedDevice({ sensorIds: ['sim-1', 'sim-2'], clock: systemClock, intervalMs: 100, heartbeatMs: 1000, seed });
  const sent: Message[] = [];
  device.on('message', (m) => sent.push(m));
  const wire = connectDevice(device, port, () => {});
  if (run) device.start();
  return {
    device,
    port,
    sent,
    writeRaw: (text) => new Promise<void>((resolve, reject) => port.write(text, (err) => (err ? reject(err) : resolve()))),
    close: async () => {
      device.stop();
      wire.disconnect();
      port.on('error', () => {});
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}

const cleanups = cleanupAfterEach();

async function fixture(options: Partial<ConstructorParameters<typeof SerialSource>[0]> = {}, dir?: string) {
  const pair = await openPtyPair({ socatPath: socat ?? 'socat', dir });
  const holder: { pair: PtyPair } = { pair };
  cleanups.push(() => holder.pair.close());
  const source = new SerialSource({ path: pair.gatewayPath, dataTimeoutMs: 2000, commandTimeoutMs: 2000, ...options });
  const readings: Reading[] = [];
  const links: Array<[LinkState, string]> = [];
  const rejected: Array<[string, string]> = [];
  source.on('reading', (r) => readings.push(r));
  source.on('link', (s, d) => links.push([s, d]));
  source.on('rejected', (r, l) => rejected.push([r, l]));
  cleanups.push(() => source.stop());
  return { holder, source, readings, links, rejected };
}

describe.skipIf(socat === null)('SerialSource over a real pseudo-terminal', () => {
  it('delivers readings in order with the values the device sent', async () => {
    const { holder, source, readings, links } = await fixture();
    await source.start();
    const dev = await startDevice(holder.pair.devicePath, 1);
    cleanups.push(() => dev.close());
    await waitFor('8 readings', () => readings.length >= 8);
    expect(links.map(([s]) => s)).toEqual(['connecting', 'connecting', 'up']);
    const sentReadings = dev.sent.filter((m): m is ReadingMessage => m.type === 'R');
    const expected = sentReadings.slice(0, readings.length).map((m) => ({ sensorId: m.sensorId, seq: m.seq, uptimeMs: m.uptimeMs, rh: Math.round((m.rh ?? 0) * 100) / 100, tempC: Math.round((m.tempC ?? 0) * 100) / 100 }));
    expect(readings.map((r) => ({ sensorId: r.sensorId, seq: r.seq, uptimeMs: r.uptimeMs, rh: r.rh, tempC: r.tempC }))).toEqual(expected);
    expect(readings.every((r) => r.bootId === dev.device.currentBootId)).toBe(true);
    expect(readings.map((r) => r.seq)).toEqual([...readings.keys()]);
  });

  it('counts a garbage line and decodes the next good one', async () => {
    const { holder, source, readings, rejected } = await fixture();
    await source.start();
    const dev = await startDevice(holder.pair.devicePath, 2);
    cleanups.push(() => dev.close());
    await waitFor('a first reading', () => readings.length >= 1);
    await dev.writeRaw('\n#### line noise ####\n');
    const countAfterGarbage = dev.sent.filter((m) => m.type === 'R').length;
    await waitFor('a reading after the garbage', () => readings.length > countAfterGarbage);
    expect(rejected).toEqual([['unparsable', '#### line noise ####']]);
    expect(source.rejectedCounts()).toMatchObject({ unparsable: 1, checksum: 0, too_long: 0 });
  });

  it('round-trips an info command to its ack', async () => {
    const { holder, source, readings } = await fixture();
    await source.start();
    const dev = await startDevice(holder.pair.devicePath, 3);
    cleanups.push(() => dev.close());
    await waitFor('a first reading', () => readings.length >= 1);
    const ack = await source.sendCommand('info');
    expect(ack.ok).toBe(true);
    expect(ack.payload).toContain(`boot=${dev.device.currentBootId}`);
    expect(ack.payload).toContain('sensors=sim-1;sim-2');
  });

  it('rejects a command to a silent device with ETIMEDOUT', async () => {
    const { holder, source, links } = await fixture({ dataTimeoutMs: 10_000 });
    await source.start();
    const dev = await startDevice(holder.pair.devicePath, 4, false); // port open, firmware silent
    cleanups.push(() => dev.close());
    await waitFor('the port to open', () => links.some(([, d]) => d.endsWith('waiting for data')));
    await expect(source.sendCommand('info', null, 300)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('goes down when the pty pair disappears and comes back by itself when it returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hygrocast-unplug-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { holder, source, readings, links } = await fixture({ dataTimeoutMs: 1000, backoffInitialMs: 50, backoffMaxMs: 200 }, dir);
    await source.start();
    const first = await startDevice(holder.pair.devicePath, 5);
    await waitFor('readings before unplug', () => readings.length >= 3);
    const firstBoot = first.device.currentBootId;

    await first.close();
    await holder.pair.close(); // unplug
    await waitFor('link down', () => links.at(-1)?.[0] === 'down' || links.at(-1)?.[1].startsWith('opening') === true);
    expect(links.some(([s]) => s === 'down')).toBe(true);
    const before = readings.length;

    holder.pair = await openPtyPair({ socatPath: socat ?? 'socat', dir }); // replug at the same path
    const second = await startDevice(holder.pair.devicePath, 6);
    cleanups.push(() => second.close());
    await waitFor('readings after replug', () => readings.at(-1)?.bootId === second.device.currentBootId);
    expect(links.at(-1)?.[0]).toBe('up');
    const after = readings.slice(before);
    // The greeting went out before the gateway reopened, so the boot id is learnt via `info`;
    // readings before that carry "unknown", never the stale id of the first boot.
    expect(after.every((r) => r.bootId === second.device.currentBootId || r.bootId === 'unknown')).toBe(true);
    expect(second.device.currentBootId).not.toBe(firstBoot);
  });
});
