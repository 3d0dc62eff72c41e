import { Command, InvalidArgumentError } from 'commander';
import { SerialPort } from 'serialport';
import { systemClock } from '../gateway/clock.ts';
import { encodeMessage } from '../firmware-bridge/protocol.ts';
import { openPtyPair } from './pty.ts';
import type { PtyPair } from './pty.ts';
import { SimulatedDevice } from './simulator.ts';
import { connectDevice } from './wire.ts';

/**
 * Simulated sensor firmware on a serial device:
 *   tsx device-sim/cli.ts --port /dev/pts/7 [--baud 115200] [--sensors sim-1,sim-2] [--interval-ms 1000] [--seed N]
 *   tsx device-sim/cli.ts --pty /tmp/hygrocast-gw   (makes a socat pty pair; the gateway opens the printed path)
 * Lines it sends are echoed to stdout; problems go to stderr. SIGINT/SIGTERM stop it cleanly.
 */

function int(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}, got "${raw}"`);
    return value;
  };
}

function sensors(raw: string): string[] {
  const ids = raw.split(',').filter((s) => s.length > 0);
  const bad = ids.find((id) => !/^[A-Za-z0-9_-]{1,32}$/.test(id));
  if (ids.length === 0 || ids.length > 8 || bad !== undefined) {
    throw new InvalidArgumentError(`sensors must be 1-8 comma-separated ids of 1-32 characters A-Z a-z 0-9 _ -${bad === undefined ? '' : `; "${bad}" is not`}`);
  }
  return ids;
}

interface Options {
  port?: string;
  pty?: string;
  baud: number;
  sensors: string[];
  intervalMs: number;
  seed: number;
  quiet?: boolean;
}

async function main(): Promise<void> {
  const program = new Command('device-sim')
    .description('Simulated hygrocast sensor firmware speaking wire protocol v1 on a serial device')
    .option('--port <path>', 'serial device to write to (e.g. one end of a socat pty pair)')
    .option('--pty <linkpath>', 'create a socat pty pair; the gateway opens <linkpath>')
    .option('--baud <n>', 'baud rate', int('--baud', 1200, 4_000_000), 115200)
    .option('--sensors <ids>', 'comma-separated sensor ids', sensors, ['sim-1'])
    .option('--interval-ms <n>', 'reading interval in ms', int('--interval-ms', 100, 3_600_000), 1000)
    .option('--seed <n>', 'signal seed', int('--seed', 0, 2 ** 31 - 1), 1)
    .option('--quiet', 'do not echo lines to stdout')
    .parse();
  const opts = program.opts<Options>();
  if ((opts.port === undefined) === (opts.pty === undefined)) program.error('give exactly one of --port <path> or --pty <linkpath>');

  let pair: PtyPair | null = null;
  let path = opts.port ?? '';
  if (opts.pty !== undefined) {
    pair = await openPtyPair();
    const { symlinkSync, rmSync } = await import('node:fs');
    rmSync(opts.pty, { force: true });
    symlinkSync(pair.gatewayPath, opts.pty);
    path = pair.devicePath;
    console.error(`gateway should open: ${opts.pty}`);
  }

  const port = new SerialPort({ path, baudRate: opts.baud, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const device = new SimulatedDevice({ sensorIds: opts.sensors, intervalMs: opts.intervalMs, seed: opts.seed, clock: systemClock });
  if (!opts.quiet) device.on('message', (m) => process.stdout.write(encodeMessage(m)));
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    device.stop();
    wire.disconnect();
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    if (pair) {
      await pair.close();
      const { rmSync } = await import('node:fs');
      if (opts.pty !== undefined) rmSync(opts.pty, { force: true });
    }
    process.exitCode = code;
  };
  const shutdown = (code: number): void => {
    stop(code).catch((err: unknown) => {
      console.error(`device-sim: clean shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    });
  };
  const fail = (err: Error): void => {
    console.error(`device-sim: serial error on ${path}: ${err.message}`);
    shutdown(1);
  };
  const wire = connectDevice(device, port, fail, (reason, line) => console.error(`device-sim: rejected (${reason}): ${line}`));
  port.on('close', () => shutdown(0));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => shutdown(0));
  device.start();
}

main().catch((err: unknown) => {
  console.error(`device-sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
