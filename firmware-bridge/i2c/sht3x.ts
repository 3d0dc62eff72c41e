import type { I2cBus } from './bus.ts';
import { hex } from './bus.ts';
import { crc8Sensirion } from './crc8.ts';
import type { I2cMeasurement, I2cSensorDriver, Sleep } from './driver.ts';
import { I2cError } from './errors.ts';

/** Sensirion SHT3x-DIS command words and timings (datasheet sections 4.3, 4.9 and Table 4). */
export const SHT3X = {
  /** Default address (ADDR pin low); 0x45 with ADDR high. */
  ADDRESS_DEFAULT: 0x44,
  ADDRESS_ALT: 0x45,
  /** Single shot, high repeatability, clock stretching disabled. */
  CMD_MEASURE_HIGH_NO_STRETCH: 0x2400,
  CMD_MEASURE_MEDIUM_NO_STRETCH: 0x240b,
  CMD_MEASURE_LOW_NO_STRETCH: 0x2416,
  CMD_SOFT_RESET: 0x30a2,
  CMD_READ_STATUS: 0xf32d,
  /** Max measurement duration, high repeatability (Table 4: 12.5 ms typical, 15 ms max). */
  MEASURE_HIGH_MAX_MS: 15,
  MEASURE_MEDIUM_MAX_MS: 6,
  MEASURE_LOW_MAX_MS: 4,
  /** Soft reset time (Table 4: tSR max 1.5 ms). */
  SOFT_RESET_MAX_MS: 1.5,
} as const;

/** Temperature in C from a raw 16-bit word (datasheet section 4.13). */
export function sht3xTemperature(raw: number): number {
  return -45 + (175 * raw) / 65535;
}

/** Relative humidity in %RH from a raw 16-bit word (datasheet section 4.13). */
export function sht3xHumidity(raw: number): number {
  return (100 * raw) / 65535;
}

/**
 * Checks both CRCs of a 6-byte measurement frame (T msb, T lsb, CRC, RH msb, RH lsb, CRC) and
 * returns the raw words. Rejects a wrong length with EIO and a CRC mismatch with ECRC.
 */
export function decodeSht3xFrame(frame: Uint8Array): { rawT: number; rawRh: number } {
  if (frame.length !== 6) throw new I2cError('EIO', `SHT3x frame must be 6 bytes, got ${frame.length}`);
  return { rawT: checkedWord(frame, 0, 'temperature'), rawRh: checkedWord(frame, 3, 'humidity') };
}

function checkedWord(frame: Uint8Array, at: number, what: string): number {
  const msb = frame[at] ?? 0;
  const lsb = frame[at + 1] ?? 0;
  const got = frame[at + 2] ?? 0;
  const want = crc8Sensirion([msb, lsb]);
  if (got !== want) {
    throw new I2cError('ECRC', `SHT3x ${what} CRC mismatch: word ${hex((msb << 8) | lsb, 4)} has CRC ${hex(got)}, expected ${hex(want)}`);
  }
  return (msb << 8) | lsb;
}

export interface Sht3xOptions {
  /** 7-bit address: 0x44 (default, ADDR low) or 0x45 (ADDR high). */
  address?: number;
  /** Waits for the measurement; inject a clock-driven sleep in tests. */
  sleep: Sleep;
  /**
   * Extra wait on top of the datasheet's maximum measurement time, in ms. Default 1: reading
   * early makes the sensor NACK, which would count as a failed read.
   */
  marginMs?: number;
}

/**
 * Sensirion SHT3x (SHT30/31/35) driver: single-shot, high repeatability, no clock stretching
 * (command 0x2400). Clock stretching is avoided because the Pi's BCM2835 I2C controller has a
 * clock-stretching erratum; polling after the documented maximum time works on every adapter.
 */
export class Sht3x implements I2cSensorDriver {
  readonly kind = 'sht3x';
  readonly address: number;
  private readonly sleep: Sleep;
  private readonly marginMs: number;

  constructor(
    private readonly bus: I2cBus,
    options: Sht3xOptions,
  ) {
    this.address = options.address ?? SHT3X.ADDRESS_DEFAULT;
    if (this.address !== SHT3X.ADDRESS_DEFAULT && this.address !== SHT3X.ADDRESS_ALT) {
      throw new I2cError('EINVAL', `invalid SHT3x address ${hex(this.address)}: expected 0x44 or 0x45`);
    }
    this.marginMs = options.marginMs ?? 1;
    if (!(this.marginMs >= 0 && this.marginMs <= 100)) {
      throw new I2cError('EINVAL', `invalid SHT3x marginMs ${String(options.marginMs)}: expected 0..100`);
    }
    this.sleep = options.sleep;
  }

  /** Soft reset (0x30A2): brings the sensor to a known state after a glitch or a re-plug. */
  async init(): Promise<void> {
    await this.command(SHT3X.CMD_SOFT_RESET);
    await this.sleep(SHT3X.SOFT_RESET_MAX_MS + this.marginMs);
  }

  async measure(): Promise<I2cMeasurement> {
    await this.command(SHT3X.CMD_MEASURE_HIGH_NO_STRETCH);
    await this.sleep(SHT3X.MEASURE_HIGH_MAX_MS + this.marginMs);
    const { rawT, rawRh } = decodeSht3xFrame(await this.bus.read(this.address, 6));
    return { tempC: sht3xTemperature(rawT), rh: sht3xHumidity(rawRh) };
  }

  private command(cmd: number): Promise<void> {
    return this.bus.write(this.address, Uint8Array.of(cmd >> 8, cmd & 0xff));
  }
}
