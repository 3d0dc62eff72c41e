import { systemClock, type Clock } from '../../gateway/clock.ts';
import { crc8Sensirion } from './crc8.ts';
import { I2cError } from './errors.ts';
import { SHT3X } from './sht3x.ts';
import { nack, type SimDevice } from './sim-device.ts';

export interface Sht3xSimOptions {
  /** Address it is attached at (only used in NACK messages). Default 0x44. */
  address?: number;
  /** Initial temperature in C. Default 21. */
  tempC?: number;
  /** Initial relative humidity in %RH. Default 45. */
  rh?: number;
  /** Times the measurement; use ManualClock in tests. Default systemClock. */
  clock?: Clock;
}

/** Measurement durations the sim enforces: the datasheet maximum (Table 4), the worst part. */
const DURATION_MS = new Map<number, number>([
  [SHT3X.CMD_MEASURE_HIGH_NO_STRETCH, SHT3X.MEASURE_HIGH_MAX_MS],
  [SHT3X.CMD_MEASURE_MEDIUM_NO_STRETCH, SHT3X.MEASURE_MEDIUM_MAX_MS],
  [SHT3X.CMD_MEASURE_LOW_NO_STRETCH, SHT3X.MEASURE_LOW_MAX_MS],
]);

/**
 * A Sensirion SHT3x at the transfer level: single-shot measurements without clock stretching,
 * soft reset and status read. Like the part, it NACKs a read header while measuring or when no
 * data is waiting, NACKs unknown commands, and clears the data once read (datasheet 4.3, 4.4).
 * Clock-stretching and periodic modes are not modelled; their commands NACK.
 */
export class Sht3xSim implements SimDevice {
  private readonly address: number;
  private readonly clock: Clock;
  private tempC: number;
  private rh: number;
  private busyUntil: number | null = null;
  private pendingFrame: Uint8Array | null = null;
  private crcFaults = 0;
  /** When false, every transfer NACKs (unpowered or disconnected sensor). */
  present = true;
  /** Completed measurements, for tests. */
  measurements = 0;

  constructor(options: Sht3xSimOptions = {}) {
    this.address = options.address ?? SHT3X.ADDRESS_DEFAULT;
    this.clock = options.clock ?? systemClock;
    this.tempC = options.tempC ?? 21;
    this.rh = options.rh ?? 45;
  }

  /** Sets what the next measurements report. */
  setConditions(tempC: number, rh: number): void {
    this.tempC = tempC;
    this.rh = rh;
  }

  /** The next `count` measurements carry a wrong CRC on the humidity word. */
  corruptNextCrc(count = 1): void {
    this.crcFaults += count;
  }

  write(bytes: Uint8Array): void {
    this.checkAwake();
    if (bytes.length !== 2) throw nack(this.address, `SHT3x commands are 2 bytes, got ${bytes.length}`);
    const cmd = ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
    const duration = DURATION_MS.get(cmd);
    if (duration !== undefined) {
      this.pendingFrame = this.measureFrame();
      this.busyUntil = this.clock.monotonic() + duration;
    } else if (cmd === SHT3X.CMD_SOFT_RESET) {
      this.pendingFrame = null;
      this.busyUntil = this.clock.monotonic() + SHT3X.SOFT_RESET_MAX_MS;
    } else if (cmd === SHT3X.CMD_READ_STATUS) {
      this.pendingFrame = word(0x0000);
      this.busyUntil = null;
    } else {
      throw nack(this.address, `unsupported SHT3x command 0x${cmd.toString(16).padStart(4, '0')}`);
    }
  }

  read(length: number): Uint8Array {
    this.checkAwake();
    const frame = this.pendingFrame;
    if (!frame) throw nack(this.address, 'no measurement data waiting (send a measurement command first)');
    this.pendingFrame = null;
    if (frame.length === 6) this.measurements++;
    const out = new Uint8Array(length).fill(0xff);
    out.set(frame.subarray(0, length));
    return out;
  }

  private checkAwake(): void {
    if (!this.present) throw nack(this.address, 'sensor not responding');
    if (this.busyUntil !== null && this.clock.monotonic() < this.busyUntil) {
      throw nack(this.address, 'measurement or reset still in progress');
    }
    this.busyUntil = null;
  }

  private measureFrame(): Uint8Array {
    const rawT = clampWord(((this.tempC + 45) * 65535) / 175);
    const rawRh = clampWord((this.rh * 65535) / 100);
    const frame = new Uint8Array(6);
    frame.set(word(rawT), 0);
    frame.set(word(rawRh), 3);
    if (this.crcFaults > 0) {
      this.crcFaults--;
      frame[5] = (frame[5] ?? 0) ^ 0x5a;
    }
    return frame;
  }
}

function clampWord(v: number): number {
  if (!Number.isFinite(v)) throw new I2cError('EINVAL', `SHT3x sim condition is not a finite number: ${v}`);
  return Math.min(0xffff, Math.max(0, Math.round(v)));
}

function word(v: number): Uint8Array {
  const msb = (v >> 8) & 0xff;
  const lsb = v & 0xff;
  return Uint8Array.of(msb, lsb, crc8Sensirion([msb, lsb]));
}
