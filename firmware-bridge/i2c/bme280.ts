import type { I2cBus } from './bus.ts';
import { hex } from './bus.ts';
import {
  CALIB_BLOCK1_LENGTH,
  CALIB_BLOCK1_START,
  CALIB_BLOCK2_LENGTH,
  CALIB_BLOCK2_START,
  parseBme280Calibration,
  type Bme280Calibration,
} from './bme280-calibration.ts';
import { compensateBme280 } from './bme280-compensation.ts';
import { BME280, measurementTimeMaxMs } from './bme280-registers.ts';
import type { I2cMeasurement, I2cSensorDriver, Sleep } from './driver.ts';
import { I2cError } from './errors.ts';

export interface Bme280Options {
  /** 7-bit address: 0x76 (default, SDO low) or 0x77 (SDO high). */
  address?: number;
  /** Waits for reset and conversions; inject a clock-driven sleep in tests. */
  sleep: Sleep;
  /** Oversampling codes (1 = x1 ... 5 = x16) for temperature, pressure, humidity. Default 1 each (weather monitoring, datasheet 3.5.1). */
  oversampling?: { t?: number; p?: number; h?: number };
  /**
   * How many extra status polls, 1 ms apart, after the datasheet's maximum measurement time
   * before giving up with ETIMEDOUT. Default 5.
   */
  maxStatusPolls?: number;
}

/**
 * Bosch BME280 driver in forced mode: each measure() starts one conversion and the part goes
 * back to sleep, which is what the datasheet recommends for sampling slower than 1 Hz (3.5.1).
 */
export class Bme280 implements I2cSensorDriver {
  readonly kind = 'bme280';
  readonly address: number;
  private readonly sleep: Sleep;
  private readonly osrs: { t: number; p: number; h: number };
  private readonly maxStatusPolls: number;
  private calibration: Bme280Calibration | null = null;

  constructor(
    private readonly bus: I2cBus,
    options: Bme280Options,
  ) {
    this.address = options.address ?? BME280.ADDRESS_DEFAULT;
    if (this.address !== BME280.ADDRESS_DEFAULT && this.address !== BME280.ADDRESS_ALT) {
      throw new I2cError('EINVAL', `invalid BME280 address ${hex(this.address)}: expected 0x76 or 0x77`);
    }
    this.osrs = { t: 1, p: 1, h: 1, ...options.oversampling };
    for (const [k, v] of Object.entries(this.osrs)) {
      if (!Number.isInteger(v) || v < 1 || v > 5) {
        throw new I2cError('EINVAL', `invalid BME280 oversampling.${k} ${String(v)}: expected 1..5 (x1..x16)`);
      }
    }
    this.maxStatusPolls = options.maxStatusPolls ?? 5;
    if (!Number.isInteger(this.maxStatusPolls) || this.maxStatusPolls < 0 || this.maxStatusPolls > 100) {
      throw new I2cError('EINVAL', `invalid BME280 maxStatusPolls ${String(options.maxStatusPolls)}: expected 0..100`);
    }
    this.sleep = options.sleep;
  }

  /** Calibration read by the last successful init(), or null. */
  get currentCalibration(): Readonly<Bme280Calibration> | null {
    return this.calibration;
  }

  /** Checks the chip id, soft-resets, waits for the NVM copy and reads the calibration. */
  async init(): Promise<void> {
    this.calibration = null;
    await this.checkChipId();
    await this.bus.writeRegister(this.address, BME280.REG_RESET, BME280.RESET_WORD);
    await this.sleep(BME280.STARTUP_MS);
    await this.waitStatusClear(BME280.STATUS_IM_UPDATE, 'NVM copy after reset');
    const block1 = await this.bus.readRegisters(this.address, CALIB_BLOCK1_START, CALIB_BLOCK1_LENGTH);
    const block2 = await this.bus.readRegisters(this.address, CALIB_BLOCK2_START, CALIB_BLOCK2_LENGTH);
    const calibration = parseBme280Calibration(block1, block2);
    // Filter off, standby irrelevant in forced mode; written in sleep mode as 5.4.6 requires.
    await this.bus.writeRegister(this.address, BME280.REG_CONFIG, 0x00);
    this.calibration = calibration;
  }

  async measure(): Promise<I2cMeasurement> {
    const cal = this.calibration;
    if (!cal) throw new I2cError('ENODEV', `BME280 at ${hex(this.address)} is not initialised (call init() first)`);
    // ctrl_hum takes effect only on the next write to ctrl_meas (datasheet 5.4.3), so it goes first.
    await this.bus.writeRegister(this.address, BME280.REG_CTRL_HUM, this.osrs.h);
    await this.bus.writeRegister(this.address, BME280.REG_CTRL_MEAS, (this.osrs.t << 5) | (this.osrs.p << 2) | BME280.MODE_FORCED);
    await this.sleep(measurementTimeMaxMs(this.osrs.t, this.osrs.p, this.osrs.h));
    await this.waitStatusClear(BME280.STATUS_MEASURING, 'measurement');
    const raw = decodeBme280Data(await this.bus.readRegisters(this.address, BME280.REG_DATA, BME280.DATA_LENGTH));
    if (raw.adcT === BME280.SKIPPED_20BIT || raw.adcH === BME280.SKIPPED_16BIT) {
      throw new I2cError('EIO', `BME280 at ${hex(this.address)} returned reset values: the measurement did not run`);
    }
    const out = compensateBme280({ ...raw, adcP: raw.adcP === BME280.SKIPPED_20BIT ? null : raw.adcP }, cal);
    const m: I2cMeasurement = { tempC: out.tempC, rh: out.rh };
    if (out.pressurePa !== undefined) m.pressurePa = out.pressurePa;
    return m;
  }

  private async checkChipId(): Promise<void> {
    const [id = -1] = await this.bus.readRegisters(this.address, BME280.REG_CHIP_ID, 1);
    if (id === BME280.CHIP_ID) return;
    const hint = BME280.BMP280_CHIP_IDS.includes(id) ? ' (a BMP280: it has no humidity sensor)' : '';
    throw new I2cError('ENODEV', `device at ${hex(this.address)} has chip id ${hex(id)}, expected BME280 ${hex(BME280.CHIP_ID)}${hint}`);
  }

  private async waitStatusClear(mask: number, what: string): Promise<void> {
    for (let poll = 0; ; poll++) {
      const [status = 0xff] = await this.bus.readRegisters(this.address, BME280.REG_STATUS, 1);
      if ((status & mask) === 0) return;
      if (poll >= this.maxStatusPolls) {
        throw new I2cError('ETIMEDOUT', `BME280 at ${hex(this.address)}: ${what} still running after ${this.maxStatusPolls} extra polls`);
      }
      await this.sleep(1);
    }
  }
}

/** Splits the 8-byte burst at 0xF7: 20-bit pressure and temperature, 16-bit humidity (5.4.7-5.4.9). */
export function decodeBme280Data(d: Uint8Array): { adcP: number; adcT: number; adcH: number } {
  if (d.length !== BME280.DATA_LENGTH) throw new I2cError('EIO', `BME280 data burst must be 8 bytes, got ${d.length}`);
  const b = (i: number): number => d[i] ?? 0;
  return {
    adcP: (b(0) << 12) | (b(1) << 4) | (b(2) >> 4),
    adcT: (b(3) << 12) | (b(4) << 4) | (b(5) >> 4),
    adcH: (b(6) << 8) | b(7),
  };
}
