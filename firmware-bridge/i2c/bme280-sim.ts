import { systemClock, type Clock } from '../../gateway/clock.ts';
import {
  CALIB_BLOCK1_START,
  CALIB_BLOCK2_START,
  DATASHEET_EXAMPLE_CALIBRATION,
  encodeBme280Calibration,
  type Bme280Calibration,
} from './bme280-calibration.ts';
import { compensateHumidityQ22_10, compensatePressureQ24_8, compensateTemperature } from './bme280-compensation.ts';
import { BME280, measurementTimeMaxMs } from './bme280-registers.ts';
import { I2cError } from './errors.ts';
import { nack, type SimDevice } from './sim-device.ts';

export interface Bme280SimOptions {
  /** Address it is attached at (only used in NACK messages). Default 0x76. */
  address?: number;
  /** Trimming values in NVM. Default: the datasheet worked example (DATASHEET_EXAMPLE_CALIBRATION). */
  calibration?: Bme280Calibration;
  /** Value of register 0xD0. Default 0x60 (BME280); 0x58 models a BMP280 fitted by mistake. */
  chipId?: number;
  tempC?: number; // default 21
  rh?: number; // default 45
  pressurePa?: number; // default 101325
  /** Times conversions and the post-reset NVM copy; use ManualClock in tests. Default systemClock. */
  clock?: Clock;
}

/**
 * A Bosch BME280 at register level: chip id, calibration NVM, reset, ctrl_hum/ctrl_meas/config,
 * status and the 0xF7..0xFE data registers, with the part's quirks that drivers get wrong:
 * - ctrl_hum is latched only by a write to ctrl_meas (datasheet 5.4.3), so a driver that writes
 *   them in the wrong order gets humidity "skipped" (0x8000);
 * - a forced conversion takes t_measure,max (9.1), `measuring` is set meanwhile, the data
 *   registers keep the old values until it ends, and the part returns to sleep mode;
 * - writes are register/value pairs; reads auto-increment the register pointer (6.2).
 * The raw ADC values are found by inverting Bosch's compensation, so a driver reading them
 * recovers the configured conditions to within the formulas' resolution.
 * Normal mode (continuous conversions) is not modelled: mode 0b11 behaves like forced mode.
 */
export class Bme280Sim implements SimDevice {
  private readonly address: number;
  private readonly clock: Clock;
  private readonly calibration: Bme280Calibration;
  private readonly chipId: number;
  private readonly regs = new Uint8Array(256);
  private pointer = 0;
  private conversionEndsAt: number | null = null;
  private nvmCopyEndsAt: number | null = null;
  private latchedOsrsH = 0;
  private conditions: { tempC: number; rh: number; pressurePa: number };
  /** When false, every transfer NACKs. */
  present = true;
  /** When true, conversions never finish (a wedged part): `measuring` stays set. */
  stuckMeasuring = false;
  /** Completed conversions, for tests. */
  conversions = 0;

  constructor(options: Bme280SimOptions = {}) {
    this.address = options.address ?? BME280.ADDRESS_DEFAULT;
    this.clock = options.clock ?? systemClock;
    this.calibration = { ...(options.calibration ?? DATASHEET_EXAMPLE_CALIBRATION) };
    this.chipId = options.chipId ?? BME280.CHIP_ID;
    this.conditions = { tempC: options.tempC ?? 21, rh: options.rh ?? 45, pressurePa: options.pressurePa ?? 101325 };
    this.powerOn();
  }

  setConditions(c: Partial<{ tempC: number; rh: number; pressurePa: number }>): void {
    this.conditions = { ...this.conditions, ...c };
  }

  /** Current value of a register as the part would report it (after any finished conversion). */
  peek(register: number): number {
    this.settle();
    return this.regs[register & 0xff] ?? 0;
  }

  write(bytes: Uint8Array): void {
    this.checkPresent();
    this.settle();
    this.pointer = bytes[0] ?? 0;
    for (let i = 0; i + 1 < bytes.length; i += 2) this.writeRegister(bytes[i] ?? 0, bytes[i + 1] ?? 0);
    if (bytes.length > 1 && bytes.length % 2 === 1) this.pointer = bytes[bytes.length - 1] ?? 0;
  }

  read(length: number): Uint8Array {
    this.checkPresent();
    this.settle();
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      out[i] = this.readRegister(this.pointer);
      this.pointer = (this.pointer + 1) & 0xff;
    }
    return out;
  }

  private powerOn(): void {
    this.regs.fill(0);
    const { block1, block2 } = encodeBme280Calibration(this.calibration);
    this.regs.set(block1, CALIB_BLOCK1_START);
    this.regs.set(block2, CALIB_BLOCK2_START);
    this.regs[BME280.REG_CHIP_ID] = this.chipId;
    this.regs.set([0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00], BME280.REG_DATA);
    this.conversionEndsAt = null;
    this.latchedOsrsH = 0;
  }

  private writeRegister(reg: number, value: number): void {
    switch (reg) {
      case BME280.REG_RESET:
        if (value === BME280.RESET_WORD) {
          this.powerOn();
          this.nvmCopyEndsAt = this.clock.monotonic() + BME280.STARTUP_MS;
        }
        return;
      case BME280.REG_CTRL_HUM:
        this.regs[reg] = value & 0x07;
        return;
      case BME280.REG_CONFIG:
        this.regs[reg] = value & 0xfd; // bit 1 is reserved
        return;
      case BME280.REG_CTRL_MEAS:
        this.regs[reg] = value;
        this.latchedOsrsH = this.regs[BME280.REG_CTRL_HUM] ?? 0;
        if ((value & 0x03) !== BME280.MODE_SLEEP) this.startConversion(value);
        return;
      default:
        return; // read-only registers ignore writes, as on the part
    }
  }

  private readRegister(reg: number): number {
    if (reg === BME280.REG_STATUS) {
      const now = this.clock.monotonic();
      const measuring = this.conversionEndsAt !== null ? BME280.STATUS_MEASURING : 0;
      const nvm = this.nvmCopyEndsAt !== null && now < this.nvmCopyEndsAt ? BME280.STATUS_IM_UPDATE : 0;
      return measuring | nvm;
    }
    return this.regs[reg] ?? 0;
  }

  private startConversion(ctrlMeas: number): void {
    const osrsT = ctrlMeas >> 5;
    const osrsP = (ctrlMeas >> 2) & 0x07;
    this.conversionEndsAt = this.clock.monotonic() + measurementTimeMaxMs(osrsT, osrsP, this.latchedOsrsH);
  }

  /** Finishes a due conversion: fills the data registers and returns to sleep mode. */
  private settle(): void {
    if (this.conversionEndsAt === null || this.stuckMeasuring || this.clock.monotonic() < this.conversionEndsAt) return;
    this.conversionEndsAt = null;
    const ctrl = this.regs[BME280.REG_CTRL_MEAS] ?? 0;
    const { adcT, adcP, adcH } = this.rawFor(ctrl >> 5, (ctrl >> 2) & 0x07, this.latchedOsrsH);
    this.regs.set([adcP >> 12, (adcP >> 4) & 0xff, (adcP & 0x0f) << 4], BME280.REG_DATA);
    this.regs.set([adcT >> 12, (adcT >> 4) & 0xff, (adcT & 0x0f) << 4], BME280.REG_DATA + 3);
    this.regs.set([adcH >> 8, adcH & 0xff], BME280.REG_DATA + 6);
    this.regs[BME280.REG_CTRL_MEAS] = ctrl & ~0x03;
    this.conversions++;
  }

  private rawFor(osrsT: number, osrsP: number, osrsH: number): { adcT: number; adcP: number; adcH: number } {
    const c = this.calibration;
    const { tempC, rh, pressurePa } = this.conditions;
    const adcT = invert((a) => compensateTemperature(a, c).centiC / 100, tempC, 0xfffff);
    const { tFine } = compensateTemperature(adcT, c);
    return {
      adcT: osrsT ? adcT : BME280.SKIPPED_20BIT,
      adcP: osrsP ? invert((a) => compensatePressureQ24_8(a, tFine, c) / 256, pressurePa, 0xfffff) : BME280.SKIPPED_20BIT,
      adcH: osrsH ? invert((a) => compensateHumidityQ22_10(a, tFine, c) / 1024, rh, 0xffff) : BME280.SKIPPED_16BIT,
    };
  }

  private checkPresent(): void {
    if (!this.present) throw nack(this.address, 'sensor not responding');
  }
}

/**
 * The ADC code in 0..max whose compensated value is closest to `target`, by bisection; `f` must
 * be monotonic (increasing or decreasing) over the range, which Bosch's formulas are.
 */
function invert(f: (adc: number) => number, target: number, max: number): number {
  if (!Number.isFinite(target)) throw new I2cError('EINVAL', `BME280 sim condition is not a finite number: ${target}`);
  const increasing = f(max) >= f(0);
  let lo = 0;
  let hi = max;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (f(mid) < target === increasing) lo = mid;
    else hi = mid;
  }
  return Math.abs(f(lo) - target) <= Math.abs(f(hi) - target) ? lo : hi;
}
