import { checkAddress, checkByte, checkBytes, checkLength, hex, type I2cBus } from './bus.ts';
import { I2cError } from './errors.ts';
import { nack, type SimDevice } from './sim-device.ts';

export type { SimDevice } from './sim-device.ts';
export { Sht3xSim, type Sht3xSimOptions } from './sht3x-sim.ts';
export { Bme280Sim, type Bme280SimOptions } from './bme280-sim.ts';

/**
 * An I2C bus in memory with simulated devices attached at addresses. It keeps the I2cBus
 * contract exactly (validation, EREMOTEIO for an empty address, ECLOSED after close), so a
 * driver that works here fails on real hardware only for electrical reasons.
 * Transfers complete in a microtask; device timing is modelled by each device on its own clock.
 */
export class SimulatedI2cBus implements I2cBus {
  readonly name: string;
  private readonly devices = new Map<number, SimDevice>();
  private closed = false;
  /** Every transfer so far, oldest first, capped at `maxLogEntries`; for tests that check ordering. */
  readonly log: string[] = [];
  private readonly maxLogEntries: number;

  /** @param options.maxLogEntries bound on `log`, oldest dropped first. Default 256. */
  constructor(options: { name?: string; maxLogEntries?: number } = {}) {
    this.name = options.name ?? 'sim';
    this.maxLogEntries = options.maxLogEntries ?? 256;
  }

  /** Attaches `device` at `address`; a second device at the same address is a wiring error. */
  attach(address: number, device: SimDevice): this {
    checkAddress(address);
    if (this.devices.has(address)) throw new I2cError('EINVAL', `address ${hex(address)} is already in use on ${this.name}`);
    this.devices.set(address, device);
    return this;
  }

  /** Removes the device at `address` (a pulled cable); later transfers to it NACK. */
  detach(address: number): void {
    this.devices.delete(address);
  }

  async write(address: number, bytes: Uint8Array): Promise<void> {
    checkAddress(address);
    checkBytes(bytes);
    this.record(`W ${hex(address)} ${[...bytes].map((b) => hex(b)).join(' ')}`);
    this.device(address).write(bytes);
  }

  async read(address: number, length: number): Promise<Uint8Array> {
    checkAddress(address);
    checkLength(length);
    this.record(`R ${hex(address)} ${length}`);
    return this.device(address).read(length);
  }

  async writeRegister(address: number, register: number, value: number): Promise<void> {
    checkByte('register', register);
    checkByte('register value', value);
    await this.write(address, Uint8Array.of(register, value));
  }

  async readRegisters(address: number, register: number, length: number): Promise<Uint8Array> {
    checkByte('register', register);
    checkLength(length);
    // Write of the register pointer, repeated START, then the read: one combined transaction.
    await this.write(address, Uint8Array.of(register));
    return this.read(address, length);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private device(address: number): SimDevice {
    if (this.closed) throw new I2cError('ECLOSED', `${this.name} is closed`);
    const d = this.devices.get(address);
    if (!d) throw nack(address, `no device at this address on ${this.name}`);
    return d;
  }

  private record(entry: string): void {
    this.log.push(entry);
    if (this.log.length > this.maxLogEntries) this.log.shift();
  }
}
