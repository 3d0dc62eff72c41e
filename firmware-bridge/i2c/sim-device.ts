import { hex } from './bus.ts';
import { I2cError } from './errors.ts';

/**
 * A device on a SimulatedI2cBus, modelled at the transfer level. A method throws an I2cError
 * with code EREMOTEIO to NACK, exactly as the Linux driver reports a real NACK.
 */
export interface SimDevice {
  /** A write transfer (command word, or register pointer followed by data). */
  write(bytes: Uint8Array): void;
  /** A read transfer of `length` bytes. */
  read(length: number): Uint8Array;
}

export function nack(address: number, why: string): I2cError {
  return new I2cError('EREMOTEIO', `no acknowledge from ${hex(address)}: ${why}`, 'EREMOTEIO');
}
