import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { checkAddress, checkByte, checkBytes, checkLength, hex, type I2cBus } from './bus.ts';
import { I2cError, toI2cError } from './errors.ts';
import { OpQueue } from './op-queue.ts';

/** The slice of i2c-bus's PromisifiedBus we use (the package ships no type declarations). */
interface PromisifiedBus {
  i2cWrite(addr: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number }>;
  i2cRead(addr: number, length: number, buffer: Buffer): Promise<{ bytesRead: number }>;
  writeByte(addr: number, cmd: number, byte: number): Promise<void>;
  readI2cBlock(addr: number, cmd: number, length: number, buffer: Buffer): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

interface I2cBusModule {
  openPromisified(busNumber: number, options?: { forceAccess?: boolean }): Promise<PromisifiedBus>;
}

export interface OpenI2cBusOptions {
  /** Open devices even when a kernel driver has claimed them (I2C_SLAVE_FORCE). Default false. */
  forceAccess?: boolean;
  /** Operations allowed in flight plus waiting before further ones reject with EBUSY. Default 16. */
  maxPendingOps?: number;
  /** Device-node directory, for tests and containers. Default "/dev". */
  devDir?: string;
}

export const DEFAULT_MAX_PENDING_OPS = 16;

/**
 * Opens Linux I2C bus `busNumber` (/dev/i2c-N) through the `i2c-bus` package, imported lazily so
 * machines without I2C (or without the native build) still load this module.
 * Rejects with ENOENT when the device node is missing (I2C not enabled), EACCES when the user is
 * not allowed to open it (not in the `i2c` group), ENOTSUP when the native module cannot load.
 */
export async function openI2cBus(busNumber: number, options: OpenI2cBusOptions = {}): Promise<I2cBus> {
  if (!Number.isInteger(busNumber) || busNumber < 0 || busNumber > 255) {
    throw new I2cError('EINVAL', `invalid I2C bus number ${String(busNumber)}: expected an integer 0..255`);
  }
  const maxPending = options.maxPendingOps ?? DEFAULT_MAX_PENDING_OPS;
  if (!Number.isInteger(maxPending) || maxPending < 1) {
    throw new I2cError('EINVAL', `invalid maxPendingOps ${String(maxPending)}: expected an integer >= 1`);
  }
  const path = `${options.devDir ?? '/dev'}/i2c-${busNumber}`;
  await checkDeviceNode(path);
  const mod = await loadModule();
  // i2c-bus opens the device node lazily, per address, so this cannot fail on a present node.
  const native = await mod.openPromisified(busNumber, { forceAccess: options.forceAccess ?? false });
  return new LinuxI2cBus(path, native, new OpQueue(maxPending));
}

async function checkDeviceNode(path: string): Promise<void> {
  try {
    await access(path, fsConstants.R_OK | fsConstants.W_OK);
  } catch (err) {
    const e = toI2cError(err, `cannot open ${path}`);
    const hint =
      e.code === 'ENOENT'
        ? ' (enable I2C with `sudo raspi-config nonint do_i2c 0` and check the bus number with `ls /dev/i2c-*`)'
        : e.code === 'EACCES'
          ? ' (add the user to the i2c group: `sudo usermod -aG i2c $USER`, then log in again)'
          : '';
    throw new I2cError(e.code, e.message + hint, e.errno, { cause: err });
  }
}

async function loadModule(): Promise<I2cBusModule> {
  try {
    // A variable specifier: i2c-bus ships no type declarations, and the shape we rely on is
    // declared above instead.
    const specifier = 'i2c-bus';
    const imported = (await import(specifier)) as { default?: I2cBusModule } & Partial<I2cBusModule>;
    const mod = imported.default ?? imported;
    if (typeof mod.openPromisified !== 'function') throw new Error('i2c-bus has no openPromisified export');
    return mod as I2cBusModule;
  } catch (err) {
    throw new I2cError('ENOTSUP', `cannot load the i2c-bus native module: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
}

class LinuxI2cBus implements I2cBus {
  private closed = false;

  constructor(
    readonly name: string,
    private readonly native: PromisifiedBus,
    private readonly queue: OpQueue,
  ) {}

  write(address: number, bytes: Uint8Array): Promise<void> {
    return this.op(`write ${bytes.length} bytes to ${hex(address)}`, () => {
      checkAddress(address);
      checkBytes(bytes);
    }, async () => {
      const buf = Buffer.from(bytes);
      const { bytesWritten } = await this.native.i2cWrite(address, buf.length, buf);
      if (bytesWritten !== buf.length) throw short('wrote', bytesWritten, buf.length);
    });
  }

  read(address: number, length: number): Promise<Uint8Array> {
    return this.op(`read ${length} bytes from ${hex(address)}`, () => {
      checkAddress(address);
      checkLength(length);
    }, async () => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await this.native.i2cRead(address, length, buf);
      if (bytesRead !== length) throw short('read', bytesRead, length);
      return new Uint8Array(buf);
    });
  }

  writeRegister(address: number, register: number, value: number): Promise<void> {
    return this.op(`write register ${hex(register)} of ${hex(address)}`, () => {
      checkAddress(address);
      checkByte('register', register);
      checkByte('register value', value);
    }, () => this.native.writeByte(address, register, value));
  }

  readRegisters(address: number, register: number, length: number): Promise<Uint8Array> {
    return this.op(`read ${length} registers from ${hex(register)} of ${hex(address)}`, () => {
      checkAddress(address);
      checkByte('register', register);
      checkLength(length);
    }, async () => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await this.native.readI2cBlock(address, register, length, buf);
      if (bytesRead !== length) throw short('read', bytesRead, length);
      return new Uint8Array(buf);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Queued behind in-flight operations so no transfer runs on a closed descriptor.
    await this.queue.run(() => this.native.close()).catch((err: unknown) => {
      throw toI2cError(err, `close ${this.name}`);
    });
  }

  /** Validates, then runs `body` in the queue; every failure leaves as an I2cError rejection. */
  private async op<T>(what: string, validate: () => void, body: () => Promise<T>): Promise<T> {
    validate();
    if (this.closed) throw new I2cError('ECLOSED', `${this.name} is closed (${what})`);
    try {
      return await this.queue.run(body);
    } catch (err) {
      throw toI2cError(err, `${this.name}: ${what}`);
    }
  }
}

function short(verb: string, got: number, want: number): I2cError {
  return new I2cError('EIO', `${verb} ${got} of ${want} bytes`);
}
