import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { openPtyPair } from '../../device-sim/pty.ts';
import { LineDecoder } from '../../firmware-bridge/codec.ts';
import type { Message } from '../../firmware-bridge/messages.ts';
import { encodeMessage } from '../../firmware-bridge/protocol.ts';
import { cleanupAfterEach } from '../../test/cleanups.ts';
import { requireTool } from '../../test/prereq.ts';
import { waitFor } from '../../test/wait.ts';
import type { Reading } from '../types.ts';
import { SerialSource } from './serial-source.ts';

/**
 * How the serial source learns which boot its readings belong to when no greeting reaches it, on a
 * real pty pair: the `info` answer lost on the way (asked again), and a reboot whose greeting was
 * lost (told by the uptime going back, then asked).
 */

const socat = requireTool('socat');
const cleanups = cleanupAfterEach();

/** The device end: readings every 20 ms, no greeting; `info` acks from `answerInfo`, null = lost. */
async function device(path: string, answerInfo: (n: number) => string | null) {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('error', () => {});
  const write = (msg: Message): void => void port.write(encodeMessage(msg));
  let infos = 0;
  const decoder = new LineDecoder();
  decoder.on('data', (msg: Message) => {
    if (msg.type !== 'C' || msg.name !== 'info') return;
    const boot = answerInfo(++infos);
    if (boot !== null) write({ type: 'A', id: msg.id, ok: true, payload: `fw=1.0.0 model=SIM boot=${boot}` });
  });
  port.on('data', (chunk: Buffer) => decoder.write(chunk));
  const d = { seq: 0, uptimeMs: 60_000, infos: () => infos };
  const timer = setInterval(() => {
    d.uptimeMs += 20;
    write({ type: 'R', sensorId: 'boot-1', seq: d.seq++, uptimeMs: d.uptimeMs, rh: 50, tempC: 20, status: 0 });
  }, 20);
  cleanups.push(async () => {
    clearInterval(timer);
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  });
  return d;
}

describe.skipIf(socat === null)('SerialSource boot id without a greeting', () => {
  it('asks for the boot id again when the info answer is lost, instead of "unknown" for the whole connection', async () => {
    const pair = await openPtyPair({ socatPath: socat ?? 'socat' });
    cleanups.push(() => pair.close());
    const dev = await device(pair.devicePath, (n) => (n === 1 ? null : 'C0FFEE01'));
    const source = new SerialSource({ path: pair.gatewayPath, commandTimeoutMs: 200 });
    const readings: Reading[] = [];
    source.on('reading', (r) => readings.push(r));
    cleanups.push(() => source.stop());
    await source.start();
    await waitFor(() => readings.at(-1)?.bootId === 'C0FFEE01', 'readings with the boot id of the second info answer', 10_000);
    expect(dev.infos()).toBe(2);
    expect(readings[0]?.bootId).toBe('unknown');
  });

  it('tells a reboot whose greeting was lost from the uptime going back, and learns the new boot', async () => {
    const pair = await openPtyPair({ socatPath: socat ?? 'socat' });
    cleanups.push(() => pair.close());
    let boot = 'AAAAAAAA';
    const dev = await device(pair.devicePath, () => boot);
    const source = new SerialSource({ path: pair.gatewayPath, commandTimeoutMs: 500 });
    const readings: Reading[] = [];
    const warnings: string[] = [];
    source.on('reading', (r) => readings.push(r));
    source.on('warning', (w) => warnings.push(w));
    cleanups.push(() => source.stop());
    await source.start();
    await waitFor(() => readings.filter((r) => r.bootId === 'AAAAAAAA').length >= 5, 'readings of the first boot', 10_000);
    // The MCU resets; its greeting is lost: seq and uptime start again.
    boot = 'BBBBBBBB';
    dev.seq = 0;
    dev.uptimeMs = 0;
    await waitFor(() => readings.some((r) => r.bootId === 'BBBBBBBB'), 'readings of the second boot', 10_000);
    expect(warnings.some((w) => /rebooted unseen .*boot AAAAAAAA ended/.test(w))).toBe(true);
    // No reading of the new boot was stamped with the old boot id (the store would drop it as a duplicate).
    const afterReboot = readings.slice(readings.findIndex((r, i) => i > 0 && r.uptimeMs < (readings[i - 1]?.uptimeMs ?? 0)));
    expect(afterReboot.every((r) => r.bootId !== 'AAAAAAAA')).toBe(true);
  });
});
