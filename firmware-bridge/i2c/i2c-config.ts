import { systemClock, type Clock } from '../../gateway/clock.ts';
import { Bme280 } from './bme280.ts';
import { BME280 } from './bme280-registers.ts';
import { hex, type I2cBus } from './bus.ts';
import { clockSleep, type I2cSensorDriver, type Sleep } from './driver.ts';
import { I2cError } from './errors.ts';
import { openI2cBus } from './i2c-bus.ts';
import { I2cSource } from './i2c-source.ts';
import { Sht3x, SHT3X } from './sht3x.ts';

/**
 * One `type: i2c` source as the gateway config describes it (see docs/i2c.md). The lead's zod
 * schema validates the shape; createI2cSource re-checks the cross-field rules (address per part).
 */
export interface I2cSourceConfig {
  /** Linux bus number: 1 is /dev/i2c-1, the header pins 3/5 on every Pi since the B+. */
  bus: number;
  driver: 'sht3x' | 'bme280';
  /** 7-bit address; default 0x44 for sht3x, 0x76 for bme280. */
  address?: number;
  sensorId: string;
  /** Poll period in ms. Default 10_000. */
  intervalMs?: number;
}

export interface I2cSourceDeps {
  clock?: Clock;
  /** Opens a bus by number. Default openI2cBus (Linux). */
  openBus?: (busNumber: number) => Promise<I2cBus>;
  /** Default: a sleep on `clock`. */
  sleep?: Sleep;
}

const ADDRESSES: Record<I2cSourceConfig['driver'], readonly number[]> = {
  sht3x: [SHT3X.ADDRESS_DEFAULT, SHT3X.ADDRESS_ALT],
  bme280: [BME280.ADDRESS_DEFAULT, BME280.ADDRESS_ALT],
};

/** Builds the I2cSource for one config entry; throws EINVAL naming the bad key. Nothing is opened until start(). */
export function createI2cSource(config: I2cSourceConfig, deps: I2cSourceDeps = {}): I2cSource {
  const allowed = ADDRESSES[config.driver] as readonly number[] | undefined;
  if (!allowed) throw new I2cError('EINVAL', `invalid i2c driver ${JSON.stringify(config.driver)}: expected "sht3x" or "bme280"`);
  const address = config.address ?? allowed[0] ?? 0;
  if (!allowed.includes(address)) {
    throw new I2cError('EINVAL', `invalid i2c address ${hex(address)} for ${config.driver}: expected ${allowed.map((a) => hex(a)).join(' or ')}`);
  }
  if (!Number.isInteger(config.bus) || config.bus < 0 || config.bus > 255) {
    throw new I2cError('EINVAL', `invalid i2c bus ${String(config.bus)}: expected an integer 0..255`);
  }
  const clock = deps.clock ?? systemClock;
  const sleep = deps.sleep ?? clockSleep(clock);
  const open = deps.openBus ?? ((n: number) => openI2cBus(n));
  const createDriver = (bus: I2cBus): I2cSensorDriver =>
    config.driver === 'sht3x' ? new Sht3x(bus, { address, sleep }) : new Bme280(bus, { address, sleep });
  return new I2cSource({
    name: `i2c:${config.bus}:${hex(address)}`,
    sensorId: config.sensorId,
    ...(config.intervalMs !== undefined ? { intervalMs: config.intervalMs } : {}),
    clock,
    openBus: () => open(config.bus),
    createDriver,
  });
}
