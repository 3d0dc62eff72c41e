import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { openPtyPair } from '../../device-sim/pty.ts';
import type { PtyPair } from '../../device-sim/pty.ts';
import { LineDecoder } from '../../firmware-bridge/codec.ts';
import type { Message } from '../../firmware-bridge/messages.ts';
import { encodeMessage } from '../../firmware-bridge/protocol.ts';
import { requireTool } from '../../test/prereq.ts';
import type { LinkState } from '../types.ts';
import { SerialSource } from './serial-source.ts';
import { waitFor as pollUntil } from '../../test/wait.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';

/**
 * 20 unplug/replug cycles on real pseudo-terminals. The gateway opens a by-id-style symlink, as
 * on a Pi (/dev/serial/by-id/usb-...); unplugging kills socat (the ptys vanish) and removes the
 * symlink, as udev does; replugging makes a new pty pair (always a new /dev/pts number, and on odd
 * cycles also new link names in another folder) and points the symlink at it again.
 * The device keeps one boot and one seq counter across cycles (a USB-serial adapter unplugged,
 * the MCU still powered), and sends readings only while its end is open and the gateway's end
 * is open too. Afterwards the seqs received must equal the seqs sent: none lost, none doubled.
 * A second test lets the cable go mid-line and the MCU count on while unplugged: every reading
 * it numbered must be received or reported lost (firmware-bridge/seq-tracker.ts), exactly.
 */

const socat = requireTool('socat');
const CYCLES = 20;
const READINGS_PER_CYCLE = 12;
const READING_EVERY_MS = 15;
/** The bound: reading again within 3 s of the replug. */
const RECOVERY_LIMIT_MS = 3000;
const BOOT_ID = 'C0FFEE01';

const cleanups = cleanupAfterEach();

/** The shared poll at this file's 5 ms step and 5000 ms default bound. */
function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  return pollUntil(check, what, timeoutMs, 5);
}

/** Minimal firmware on the device end: readings on a timer, acks for `info`. */
class PluggableDevice {
  seq = 0;
  readonly sent: number[] = [];
  private port: SerialPort | null = null;
  private timer: NodeJS.Timeout | null = null;
  private uptime = 0;

  async plug(path: string): Promise<void> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('error', () => {}); // the pty vanishing under us is the point of the test
    const decoder = new LineDecoder();
    decoder.on('data', (msg: Message) => {
      if (msg.type === 'C' && msg.name === 'info') this.write({ type: 'A', id: msg.id, ok: true, payload: `fw=1.0.0-test model=SIM boot=${BOOT_ID}` });
    });
    port.on('data', (chunk: Buffer) => decoder.write(chunk));
    this.port = port;
  }

  startReadings(count: number): void {
    let left = count;
    this.timer = setInterval(() => {
      if (left-- <= 0) return this.stopReadings();
      this.uptime += READING_EVERY_MS;
      this.write({ type: 'R', sensorId: 'plug-1', seq: this.seq, uptimeMs: this.uptime, rh: 40 + (this.seq % 500) / 10, tempC: 20, status: 0 });
      this.sent.push(this.seq);
      this.seq += 1;
    }, READING_EVERY_MS);
  }

  /** The first half of the next reading's line, as when the cable goes mid-line: that reading is lost. */
  sendHalfLine(): void {
    const line = encodeMessage({ type: 'R', sensorId: 'plug-1', seq: this.seq, uptimeMs: this.uptime, rh: 41.5, tempC: 20, status: 0 });
    this.port?.write(line.slice(0, line.length >> 1));
    this.seq += 1;
  }

  /** Readings the MCU takes while the adapter is unplugged: numbered, written to nothing. */
  sendIntoTheVoid(count: number): void {
    this.seq += count;
  }

  heartbeat(): void {
    this.write({ type: 'B', uptimeMs: this.uptime, seq: this.seq });
  }

  stopReadings(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async unplug(): Promise<void> {
    this.stopReadings();
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private write(msg: Message): void {
    if (this.port?.isOpen) this.port.write(encodeMessage(msg));
  }
}

/** Points `link` at `target` atomically (rename over the old link), like udev does. */
function relink(target: string, link: string): void {
  const tmp = `${link}.new`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

describe.skipIf(socat === null)('SerialSource across 20 unplug and replug cycles', () => {
  it('reads again within 3 s of every replug and loses no reading sent while the link was up', async () => {
    const root = mkdtempSync(join(tmpdir(), 'hygrocast-replug-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'by-id'));
    const byId = join(root, 'by-id', 'usb-hygrocast_sensor_0001-if00');
    let pair: PtyPair | null = null;
    cleanups.push(async () => {
      await pair?.close();
    });

    const source = new SerialSource({ path: byId, dataTimeoutMs: 1000, backoffInitialMs: 50, backoffMaxMs: 200 });
    const received: number[] = [];
    const links: Array<[LinkState, string]> = [];
    source.on('reading', (r) => received.push(r.seq));
    source.on('link', (s, d) => links.push([s, d]));
    cleanups.push(() => source.stop());
    await source.start();

    const device = new PluggableDevice();
    cleanups.push(() => device.unplug());
    const recoveryMs: number[] = [];
    const names = new Set<string>();

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // Replug: a new pty pair, on odd cycles under other link names in another folder.
      const dir = join(root, cycle % 2 === 0 ? 'even' : `odd-${cycle}`);
      mkdirSync(dir, { recursive: true });
      const pluggedAt = Date.now();
      pair = await openPtyPair({ socatPath: socat ?? 'socat', dir });
      names.add(pair.gatewayPath);
      relink(pair.gatewayPath, byId);
      await device.plug(pair.devicePath);
      const linksBefore = links.length;
      await waitFor(`cycle ${cycle}: the gateway to reopen`, () => links.slice(linksBefore).some(([s, d]) => s === 'connecting' && d.endsWith('waiting for data')) || source.linkState() === 'up');
      const receivedBefore = received.length;
      device.startReadings(READINGS_PER_CYCLE);
      await waitFor(`cycle ${cycle}: a reading after the replug`, () => received.length > receivedBefore, RECOVERY_LIMIT_MS + 2000);
      recoveryMs.push(Date.now() - pluggedAt);
      await waitFor(`cycle ${cycle}: the device to send its readings`, () => device.sent.length === (cycle + 1) * READINGS_PER_CYCLE);
      await waitFor(`cycle ${cycle}: all ${device.sent.length} readings sent so far`, () => received.length >= device.sent.length);

      // Unplug: the device end closes, socat dies (both ptys vanish), udev drops the by-id link.
      await device.unplug();
      await pair.close();
      pair = null;
      rmSync(byId, { force: true });
      await waitFor(`cycle ${cycle}: the link to go down`, () => source.linkState() === 'down');
    }

    expect(received).toEqual(device.sent);
    expect(device.sent).toHaveLength(CYCLES * READINGS_PER_CYCLE);
    expect(names.size).toBe(CYCLES / 2 + 1);
    expect(links.filter(([s]) => s === 'up')).toHaveLength(CYCLES);
    expect(Math.max(...recoveryMs)).toBeLessThan(RECOVERY_LIMIT_MS);
    expect(Object.values(source.rejectedCounts()).reduce((a, b) => a + b, 0)).toBe(0);
  }, 90_000);

  it('reports every reading it did not receive as lost: cut mid-line by an unplug, or sent while unplugged', async () => {
    const cycles = 5;
    const root = mkdtempSync(join(tmpdir(), 'hygrocast-lost-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const byId = join(root, 'usb-hygrocast_sensor_0002-if00');
    let pair: PtyPair | null = null;
    cleanups.push(async () => {
      await pair?.close();
    });
    const source = new SerialSource({ path: byId, dataTimeoutMs: 1000, backoffInitialMs: 50, backoffMaxMs: 200 });
    const received: number[] = [];
    let lost = 0;
    source.on('reading', (r) => received.push(r.seq));
    source.on('lost', (count) => (lost += count));
    cleanups.push(() => source.stop());
    await source.start();
    const device = new PluggableDevice();
    cleanups.push(() => device.unplug());
    let expectedLost = 0;

    for (let cycle = 0; cycle <= cycles; cycle++) {
      pair = await openPtyPair({ socatPath: socat ?? 'socat', dir: root });
      relink(pair.gatewayPath, byId);
      await device.plug(pair.devicePath);
      await waitFor(`cycle ${cycle}: the gateway to reopen`, () => source.linkState() !== 'down');
      const sentBefore = device.sent.length;
      device.startReadings(READINGS_PER_CYCLE);
      await waitFor(`cycle ${cycle}: the device to send its readings`, () => device.sent.length === sentBefore + READINGS_PER_CYCLE);
      await waitFor(`cycle ${cycle}: its readings to arrive`, () => received.length === device.sent.length);
      if (cycle === cycles) break;
      // The cable goes in the middle of a line, and the MCU goes on taking readings meanwhile.
      device.sendHalfLine();
      await device.unplug();
      await pair.close();
      pair = null;
      rmSync(byId, { force: true });
      await waitFor(`cycle ${cycle}: the link to go down`, () => source.linkState() === 'down');
      device.sendIntoTheVoid(cycle + 2);
      expectedLost += 1 + cycle + 2;
    }
    // A heartbeat settles the count up to the next seq (nothing is missing after the last reading).
    device.heartbeat();
    await waitFor('the gap after each replug to be counted', () => lost >= expectedLost);

    expect(received).toEqual(device.sent);
    expect(lost).toBe(expectedLost);
    expect(received.length + lost).toBe(device.seq); // every reading the device numbered: received or reported lost
    // A cut line that reached the gateway is terminated at the disconnect and rejected (some die in
    // the pty with socat); glued to the next connection's first line it would have cost a reading
    // the exact counts above would miss.
    expect(Object.values(source.rejectedCounts()).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(cycles);
  }, 60_000);
});
