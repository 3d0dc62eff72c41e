import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { SerialPort } from 'serialport';

/** udev's stable names for serial devices; they survive replugging and reboots. */
export const BY_ID_DIR = '/dev/serial/by-id';

export interface PortListing {
  path: string;
  /** /dev/serial/by-id/... names pointing at `path` (what sources[].path should use). */
  byId: string[];
  manufacturer: string | null;
  serialNumber: string | null;
  vendorId: string | null;
  productId: string | null;
}

/** Map from device path (/dev/ttyACM0) to its by-id names; empty without udev or devices. */
export function byIdNames(dir = BY_ID_DIR): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out; // no serial devices plugged in, or no udev
  }
  for (const name of names.sort()) {
    try {
      if (!lstatSync(path.join(dir, name)).isSymbolicLink()) continue; // udev only puts links here
      const target = realpathSync(path.join(dir, name));
      out.set(target, [...(out.get(target) ?? []), path.join(dir, name)]);
    } catch {
      // a dangling link left by an unplugged device
    }
  }
  return out;
}

/** Serial ports as serialport sees them (udev on Linux), with their stable by-id names. */
export async function listPorts(): Promise<PortListing[]> {
  const ids = byIdNames();
  const ports = await SerialPort.list();
  return ports.map((p) => ({
    path: p.path,
    byId: ids.get(p.path) ?? [],
    manufacturer: p.manufacturer ?? null,
    serialNumber: p.serialNumber ?? null,
    vendorId: p.vendorId ?? null,
    productId: p.productId ?? null,
  }));
}

export function formatPorts(ports: PortListing[]): string {
  if (ports.length === 0) return 'no serial ports found (plug the device in; check `dmesg | tail` for what the kernel saw)\n';
  return `${ports
    .map((p) => {
      const usb = p.vendorId ? ` usb ${p.vendorId}:${p.productId ?? '?'}` : '';
      const head = `${p.path}${p.manufacturer ? `  ${p.manufacturer}` : ''}${usb}${p.serialNumber ? ` serial ${p.serialNumber}` : ''}`;
      return [head, ...p.byId.map((n) => `  use: ${n}`)].join('\n');
    })
    .join('\n')}\n`;
}
