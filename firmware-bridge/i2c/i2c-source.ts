import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../../gateway/clock.ts';
import type { ReadingSource, SourceEvents } from '../../gateway/sources/source.ts';
import type { LinkState, QualityFlag, Reading } from '../../gateway/types.ts';
import { bounded } from './bounded.ts';
import { hex, type I2cBus } from './bus.ts';
import type { I2cMeasurement, I2cSensorDriver } from './driver.ts';
import { I2cError, toI2cError } from './errors.ts';

export const I2C_SOURCE_DEFAULTS = {
  /** Poll period. 10 s: humidity changes slowly, and self-heating of the SHT3x stays negligible. */
  intervalMs: 10_000,
  /** Failed reads in a row before the link is reported down. */
  maxConsecutiveFailures: 3,
  /** Upper bound on one read (open + init + measure), in ms; capped at intervalMs. */
  readTimeoutMs: 2_000,
} as const;

const SENSOR_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface I2cSourceOptions {
  /** Reading.sensorId for every reading ([A-Za-z0-9_-]{1,32}). */
  sensorId: string;
  /** Source name for logs and the link-state topic. Default `i2c:<sensorId>`. */
  name?: string;
  /** Poll period in ms, 100..86_400_000. Default 10_000. */
  intervalMs?: number;
  /** Failed reads in a row before link 'down', 1..1000. Default 3. */
  maxConsecutiveFailures?: number;
  /** Bound on one read in ms, 10..intervalMs. Default min(2_000, intervalMs). */
  readTimeoutMs?: number;
  /** Drives polling, timeouts and uptime. Default systemClock. */
  clock?: Clock;
  /** Opens the bus; retried on every poll until it succeeds (I2C may be enabled later). */
  openBus: () => Promise<I2cBus>;
  /** Builds the driver on the opened bus. */
  createDriver: (bus: I2cBus) => I2cSensorDriver;
  /** Boot id per start. Default: 8 random uppercase hex digits, like the firmware's. */
  newBootId?: () => string;
}

/**
 * A ReadingSource polling one I2C sensor. Each start() is a new "boot": a fresh bootId, seq from
 * 0 and uptimeMs from 0. The link goes 'up' on the first good read and 'down' (detail
 * "<code>: <message>") after `maxConsecutiveFailures` failed reads in a row, then 'up' again on
 * the next good read. A CRC mismatch is counted under rejectedCounts().checksum; any other
 * failure re-initialises the sensor on the next poll (it may have been power-cycled). Errors
 * become events; nothing is thrown from the timer.
 */
export class I2cSource extends EventEmitter<SourceEvents> implements ReadingSource {
  readonly name: string;
  private readonly o: Required<Omit<I2cSourceOptions, 'name'>>;
  private running = false;
  private timer: TimerHandle | null = null;
  private inFlight: Promise<void> | null = null;
  private bus: I2cBus | null = null;
  private driver: I2cSensorDriver | null = null;
  private needsInit = true;
  private link: LinkState = 'connecting';
  private failures = 0;
  private bootId = '';
  private seq = 0;
  private startedAtMono = 0;
  private rejected: Record<string, number> = {};

  constructor(options: I2cSourceOptions) {
    super();
    this.o = validate(options);
    this.name = options.name ?? `i2c:${options.sensorId}`;
  }

  /** Starts polling (first read immediately); resolves at once, even if the sensor is missing. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.bootId = this.o.newBootId();
    this.seq = 0;
    this.failures = 0;
    this.rejected = {};
    this.needsInit = true;
    this.startedAtMono = this.o.clock.monotonic();
    this.setLink('connecting', `polling every ${this.o.intervalMs} ms`);
    this.timer = this.o.clock.setInterval(() => this.tick(), this.o.intervalMs);
    this.tick();
  }

  /**
   * Stops polling, waits (at most readTimeoutMs) for a read in flight, then closes the bus
   * (also bounded by readTimeoutMs). Rejects only if closing the bus fails.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) this.o.clock.clearInterval(this.timer);
    this.timer = null;
    const pending = this.inFlight;
    if (pending) await bounded(pending, this.o.readTimeoutMs, this.o.clock, 'read in flight at stop').catch(() => undefined);
    const bus = this.bus;
    this.bus = null;
    this.driver = null;
    if (bus) await bounded(bus.close(), this.o.readTimeoutMs, this.o.clock, `closing ${bus.name}`);
  }

  rejectedCounts(): Record<string, number> {
    return { ...this.rejected };
  }

  private tick(): void {
    if (!this.running) return;
    if (this.inFlight) {
      // Only reachable when a transfer outlived readTimeoutMs (<= intervalMs) and is still stuck
      // in the kernel: count it, so a wedged bus takes the link down instead of going silent.
      this.guard(() => this.failed(new I2cError('ETIMEDOUT', `previous read on ${this.name} is still pending`)));
      return;
    }
    void this.poll();
  }

  /** Never rejects: outcomes become events; a throwing listener becomes a warning. */
  private async poll(): Promise<void> {
    const op = this.readOnce();
    // inFlight tracks the transfer itself, not the bounded wait, so a read that outlives its
    // timeout still blocks the next one (see tick()).
    const settled = op.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight = settled;
    void settled.then(() => {
      if (this.inFlight === settled) this.inFlight = null;
    });
    let m: I2cMeasurement;
    try {
      m = await bounded(op, this.o.readTimeoutMs, this.o.clock, `read on ${this.name}`);
    } catch (err) {
      this.guard(() => this.failed(toI2cError(err, this.name)));
      return;
    }
    this.guard(() => this.succeeded(m));
  }

  private async readOnce(): Promise<I2cMeasurement> {
    if (!this.driver) {
      const bus = await this.o.openBus();
      if (!this.running) {
        await bus.close();
        throw new I2cError('ECLOSED', `${this.name} stopped while opening the bus`);
      }
      this.bus = bus;
      this.driver = this.o.createDriver(bus);
      this.needsInit = true;
    }
    const driver = this.driver;
    if (this.needsInit) {
      await driver.init();
      this.needsInit = false;
    }
    return driver.measure();
  }

  private succeeded(m: I2cMeasurement): void {
    if (!this.running) return;
    this.failures = 0;
    if (this.link !== 'up') {
      const d = this.driver;
      this.setLink('up', d ? `${d.kind} at ${hex(d.address)} on ${this.bus?.name ?? '?'}` : 'reading');
    }
    this.emit('reading', this.toReading(m));
  }

  private failed(e: I2cError): void {
    if (!this.running) return;
    if (e.code === 'ECRC') {
      this.rejected.checksum = (this.rejected.checksum ?? 0) + 1;
      this.emit('rejected', 'checksum', e.message);
    } else {
      this.needsInit = true;
    }
    this.failures++;
    if (this.failures >= this.o.maxConsecutiveFailures) {
      if (this.link !== 'down') this.setLink('down', `${e.code}: ${e.message}`);
    } else if (this.link !== 'down') {
      this.emit('warning', `${this.name}: read failed (${this.failures}/${this.o.maxConsecutiveFailures}): ${e.code}: ${e.message}`);
    }
  }

  private toReading(m: I2cMeasurement): Reading {
    const quality: QualityFlag[] = [];
    if (m.rh < 0 || m.rh > 100 || m.tempC < -40 || m.tempC > 125) quality.push('out_of_range');
    return {
      sensorId: this.o.sensorId,
      bootId: this.bootId,
      seq: this.seq++,
      uptimeMs: Math.round(this.o.clock.monotonic() - this.startedAtMono),
      wallTimeMs: this.o.clock.now(),
      // 0.01 is finer than either part's accuracy (SHT3x +-2 %RH, BME280 +-3 %RH) and keeps
      // float noise out of MQTT payloads and the store.
      rh: round2(m.rh),
      tempC: round2(m.tempC),
      quality,
    };
  }

  private setLink(state: LinkState, detail: string): void {
    this.link = state;
    this.emit('link', state, detail);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      try {
        this.emit('warning', `${this.name}: an event listener threw: ${err instanceof Error ? err.message : String(err)}`);
      } catch {
        // A throwing 'warning' listener has nowhere left to report to.
      }
    }
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function validate(o: I2cSourceOptions): Required<Omit<I2cSourceOptions, 'name'>> {
  if (!SENSOR_ID.test(o.sensorId)) {
    throw new I2cError('EINVAL', `invalid sensorId ${JSON.stringify(o.sensorId)}: expected [A-Za-z0-9_-]{1,32}`);
  }
  const intervalMs = o.intervalMs ?? I2C_SOURCE_DEFAULTS.intervalMs;
  checkInt('intervalMs', intervalMs, 100, 86_400_000);
  const maxConsecutiveFailures = o.maxConsecutiveFailures ?? I2C_SOURCE_DEFAULTS.maxConsecutiveFailures;
  checkInt('maxConsecutiveFailures', maxConsecutiveFailures, 1, 1000);
  const readTimeoutMs = o.readTimeoutMs ?? Math.min(I2C_SOURCE_DEFAULTS.readTimeoutMs, intervalMs);
  checkInt('readTimeoutMs', readTimeoutMs, 10, intervalMs);
  return {
    sensorId: o.sensorId,
    intervalMs,
    maxConsecutiveFailures,
    readTimeoutMs,
    clock: o.clock ?? systemClock,
    openBus: o.openBus,
    createDriver: o.createDriver,
    newBootId: o.newBootId ?? (() => randomBytes(4).toString('hex').toUpperCase()),
  };
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new I2cError('EINVAL', `invalid I2C source option ${name} ${String(v)}: expected an integer ${min}..${max}`);
  }
}
