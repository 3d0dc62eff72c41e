import { I2cError } from './errors.ts';

/**
 * The only bus operations hygrocast's I2C drivers need. Implementations: `openI2cBus`
 * (i2c-bus.ts, Linux /dev/i2c-N) and `SimulatedI2cBus` (sim-bus.ts, register-level fakes).
 *
 * Contract, shared by every implementation:
 * - Addresses are 7-bit (0x03..0x77); lengths are 1..MAX_TRANSFER_BYTES. Anything else rejects
 *   with code EINVAL before touching the bus.
 * - A device that does not acknowledge rejects with code EREMOTEIO (or ENXIO on some adapters);
 *   every failure is an I2cError and a promise is the only error route (nothing is thrown
 *   synchronously, nothing is emitted).
 * - Operations on one bus object run one at a time in call order; an operation started after
 *   close() rejects with ECLOSED.
 */
export interface I2cBus {
  /** Human-readable bus name for logs and source names, e.g. "/dev/i2c-1" or "sim". */
  readonly name: string;
  /** Plain I2C write: START, address+W, `bytes`, STOP. */
  write(address: number, bytes: Uint8Array): Promise<void>;
  /** Plain I2C read: START, address+R, `length` bytes, STOP. Resolves with exactly `length` bytes. */
  read(address: number, length: number): Promise<Uint8Array>;
  /** Register write as Bosch parts expect it: START, address+W, register, value, STOP. */
  writeRegister(address: number, register: number, value: number): Promise<void>;
  /**
   * Register burst read: START, address+W, register, repeated START, address+R, `length` bytes,
   * STOP. The device auto-increments the register pointer.
   */
  readRegisters(address: number, register: number, length: number): Promise<Uint8Array>;
  /** Releases the bus; later operations reject with ECLOSED. Idempotent. */
  close(): Promise<void>;
}

/** Largest single transfer: the Linux I2C block ioctls carry at most 32 data bytes. */
export const MAX_TRANSFER_BYTES = 32;

/** Rejects 10-bit and reserved 7-bit addresses (0x00..0x02 and 0x78..0x7F are reserved by UM10204). */
export function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0x03 || address > 0x77) {
    throw new I2cError('EINVAL', `invalid I2C address ${String(address)}: expected an integer 0x03..0x77`);
  }
}

export function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > MAX_TRANSFER_BYTES) {
    throw new I2cError('EINVAL', `invalid I2C transfer length ${String(length)}: expected 1..${MAX_TRANSFER_BYTES}`);
  }
}

export function checkByte(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new I2cError('EINVAL', `invalid ${what} ${String(value)}: expected an integer 0..255`);
  }
}

export function checkBytes(bytes: Uint8Array): void {
  checkLength(bytes.length);
}

/** Formats an address the way datasheets and i2cdetect do: 0x44. */
export function hex(value: number, digits = 2): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}
