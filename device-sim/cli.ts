import { readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { SerialPort } from 'serialport';
import { systemClock } from '../gateway/clock.ts';
import { encodeMessage } from '../firmware-bridge/protocol.ts';
import { FaultInjector } from './faults.ts';
import type { FaultOptions } from './faults.ts';
import { openPtyPair } from './pty.ts';
import type { PtyPair } from './pty.ts';
import { parseReplayCsv, ReplayDevice } from './replay-data.ts';
import { SimulatedDevice } from './simulator.ts';
import { connectDevice } from './wire.ts';
import type { DeviceWire } from './wire.ts';

/**
 * Simulated sensor firmware on a serial device:
 *   tsx device-sim/cli.ts --port /dev/pts/7 [--baud 115200] [--sensors sim-1,sim-2] [--interval-ms 1000] [--seed N]
 *   tsx device-sim/cli.ts --pty /tmp/hygrocast-gw   (makes a socat pty pair; the gateway opens the printed path)
 * Replay of a real CSV instead of the synthetic signal:
 *   --replay ../shared/data/appliances_rh_10min.train.csv --column RH_1 [--temp-column T1] [--speedup 600]
 * Faults: --garbage-rate P, --bad-crc-rate P, --truncate-rate P, --dropout-rate P (per message),
 *   --stuck-after N (readings), --slow-bps N (bytes/s), and with --pty: --unplug-every-s S
 *   --unplug-for-s S (the pty pair vanishes and returns as a new /dev/pts/N behind the same link).
 * Lines it sends are echoed to stdout; problems go to stderr. SIGINT/SIGTERM stop it cleanly.
 */

function int(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}, got "${raw}"`);
    return value;
  };
}

function num(name: string, min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) throw new InvalidArgumentError(`${name} must be a number ${min}..${max}, got "${raw}"`);
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
  replay?: string;
  column?: string;
  tempColumn?: string;
  speedup: number;
  garbageRate: number;
  badCrcRate: number;
  truncateRate: number;
  dropoutRate: number;
  stuckAfter?: number;
  slowBps?: number;
  unplugEveryS?: number;
  unplugForS: number;
}

function parseArgs(): { opts: Options; program: Command } {
  const program = new Command('device-sim')
    .description('Simulated hygrocast sensor firmware speaking wire protocol v1 on a serial device')
    .option('--port <path>', 'serial device to write to (e.g. one end of a socat pty pair)')
    .option('--pty <linkpath>', 'create a socat pty pair; the gateway opens <linkpath>')
    .option('--baud <n>', 'baud rate', int('--baud', 1200, 4_000_000), 115200)
    .option('--sensors <ids>', 'comma-separated sensor ids (the first is used by --replay)', sensors, ['sim-1'])
    .option('--interval-ms <n>', 'reading interval in ms', int('--interval-ms', 100, 3_600_000), 1000)
    .option('--seed <n>', 'signal and fault seed', int('--seed', 0, 2 ** 31 - 1), 1)
    .option('--quiet', 'do not echo lines to stdout')
    .option('--replay <csv>', 'replay a CSV with a timestamp column (e.g. ../shared/data/appliances_rh_10min.train.csv)')
    .option('--column <name>', 'humidity column to replay (e.g. RH_1)')
    .option('--temp-column <name>', 'temperature column to replay (e.g. T1)')
    .option('--speedup <x>', 'replay speed-up (600: a 10-minute row every second)', num('--speedup', 0.001, 1e9), 600)
    .option('--garbage-rate <p>', 'probability of a garbage line before a message', num('--garbage-rate', 0, 1), 0)
    .option('--bad-crc-rate <p>', 'probability of a wrong CRC per line', num('--bad-crc-rate', 0, 1), 0)
    .option('--truncate-rate <p>', 'probability of a truncated line', num('--truncate-rate', 0, 1), 0)
    .option('--dropout-rate <p>', 'probability that a reading is not sent', num('--dropout-rate', 0, 1), 0)
    .option('--stuck-after <n>', 'readings after which every sensor repeats its last value', int('--stuck-after', 0, 2 ** 31 - 1))
    .option('--slow-bps <n>', 'trickle the output at this many bytes per second', int('--slow-bps', 1, 1_000_000))
    .option('--unplug-every-s <s>', 'with --pty: unplug the pty pair every S seconds', num('--unplug-every-s', 0.1, 86_400))
    .option('--unplug-for-s <s>', 'with --unplug-every-s: stay unplugged this long', num('--unplug-for-s', 0, 86_400), 2)
    .parse();
  const opts = program.opts<Options>();
  if ((opts.port === undefined) === (opts.pty === undefined)) program.error('give exactly one of --port <path> or --pty <linkpath>');
  if (opts.replay !== undefined && opts.column === undefined) program.error('--replay needs --column <name> (e.g. --column RH_1)');
  if (opts.unplugEveryS !== undefined && opts.pty === undefined) program.error('--unplug-every-s needs --pty: only a pty pair made here can be unplugged');
  return { opts, program };
}

function makeDevice(opts: Options): SimulatedDevice | ReplayDevice {
  if (opts.replay === undefined) return new SimulatedDevice({ sensorIds: opts.sensors, intervalMs: opts.intervalMs, seed: opts.seed, clock: systemClock });
  const rows = parseReplayCsv(readFileSync(opts.replay, 'utf8'), { column: opts.column ?? '', tempColumn: opts.tempColumn });
  return new ReplayDevice({ rows, sensorId: opts.sensors[0] ?? 'replay-1', clock: systemClock, speedup: opts.speedup });
}

function faultOptions(opts: Options): FaultOptions {
  return {
    garbageRate: opts.garbageRate,
    badCrcRate: opts.badCrcRate,
    truncateRate: opts.truncateRate,
    dropoutRate: opts.dropoutRate,
    stuckAfterReadings: opts.stuckAfter,
    seed: opts.seed,
    slowBytesPerS: opts.slowBps,
    clock: systemClock,
  };
}

/** Points `link` at `target`, replacing an older link atomically (rename), as udev does. */
function relink(target: string, link: string): void {
  rmSync(`${link}.new`, { force: true });
  symlinkSync(target, `${link}.new`);
  renameSync(`${link}.new`, link);
}

async function main(): Promise<void> {
  const { opts } = parseArgs();
  const device = makeDevice(opts);
  if (!opts.quiet) device.on('message', (m) => process.stdout.write(encodeMessage(m)));
  let pair: PtyPair | null = null;
  let port: SerialPort | null = null;
  let wire: DeviceWire | null = null;
  let unplugTimer: NodeJS.Timeout | null = null;
  let stopping = false;

  const unplugNow = async (): Promise<void> => {
    wire?.disconnect();
    wire = null;
    const p = port;
    port = null;
    if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    await pair?.close();
    pair = null;
    if (opts.pty !== undefined) rmSync(opts.pty, { force: true });
  };

  const plug = async (): Promise<void> => {
    let path = opts.port ?? '';
    if (opts.pty !== undefined) {
      pair = await openPtyPair();
      relink(pair.gatewayPath, opts.pty);
      path = pair.devicePath;
      console.error(`gateway should open: ${opts.pty}`);
    }
    const p = new SerialPort({ path, baudRate: opts.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => p.open((err) => (err ? reject(err) : resolve())));
    port = p;
    const faults = new FaultInjector(faultOptions(opts));
    wire = connectDevice(device, p, fail, (reason, line) => console.error(`device-sim: rejected (${reason}): ${line}`), faults);
    p.on('close', () => {
      if (port === p) shutdown(0);
    });
  };

  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (unplugTimer) clearTimeout(unplugTimer);
    device.stop();
    await unplugNow();
    process.exitCode = code;
  };
  const shutdown = (code: number): void => {
    stop(code).catch((err: unknown) => {
      console.error(`device-sim: clean shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    });
  };
  const fail = (err: Error): void => {
    console.error(`device-sim: serial error: ${err.message}`);
    shutdown(1);
  };

  /** Unplug, wait, replug, repeat: the device keeps running (its readings are lost meanwhile, as on hardware). */
  const scheduleUnplug = (): void => {
    if (opts.unplugEveryS === undefined || stopping) return;
    unplugTimer = setTimeout(() => {
      console.error('device-sim: unplugging');
      unplugNow()
        .then(() => new Promise((resolve) => setTimeout(resolve, opts.unplugForS * 1000)))
        .then(() => (stopping ? undefined : plug()))
        .then(scheduleUnplug)
        .catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
    }, opts.unplugEveryS * 1000);
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => shutdown(0));
  await plug();
  scheduleUnplug();
  if (device instanceof ReplayDevice) device.once('done', () => console.error(`device-sim: replay done (${device.sent} readings)`));
  device.start();
}

main().catch((err: unknown) => {
  console.error(`device-sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
