import { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { byIdNames, formatPorts, listPorts } from './ports.ts';

describe('hygrocast ports', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('maps each device to its stable by-id names and skips dangling links', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hygrocast-byid-'));
    dirs.push(dir);
    const dev = path.join(dir, 'ttyACM0');
    writeFileSync(dev, '');
    symlinkSync(dev, path.join(dir, 'usb-Arduino_Nano-if00'));
    symlinkSync(path.join(dir, 'unplugged'), path.join(dir, 'usb-Gone-if00'));
    expect(byIdNames(dir)).toEqual(new Map([[realpathSync(dev), [path.join(dir, 'usb-Arduino_Nano-if00')]]]));
    expect(byIdNames(path.join(dir, 'missing')).size).toBe(0);
  });

  it('prints the by-id name to use under each port, and a hint when there is none', () => {
    const text = formatPorts([{ path: '/dev/ttyACM0', byId: ['/dev/serial/by-id/usb-X-if00'], manufacturer: 'Arduino', serialNumber: '42', vendorId: '2341', productId: '0057' }]);
    expect(text).toBe('/dev/ttyACM0  Arduino usb 2341:0057 serial 42\n  use: /dev/serial/by-id/usb-X-if00\n');
    expect(formatPorts([])).toMatch(/^no serial ports found/);
  });

  it('lists what serialport finds (none in a container, but the call must work)', async () => {
    const ports = await listPorts();
    expect(Array.isArray(ports)).toBe(true);
    for (const p of ports) expect(p.path).toMatch(/^\/dev\//);
  });
});
