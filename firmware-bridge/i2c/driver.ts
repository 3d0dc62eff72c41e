import type { Clock } from '../../gateway/clock.ts';

/** One measurement from an I2C sensor, in physical units. */
export interface I2cMeasurement {
  /** Relative humidity in %RH, already clamped to the sensor's 0..100 range. */
  rh: number;
  /** Temperature in degrees C. */
  tempC: number;
  /** Barometric pressure in Pa, for sensors that measure it (BME280). */
  pressurePa?: number;
}

/**
 * What I2cSource needs from a sensor driver (Sht3x, Bme280).
 * Contract: both methods reject with an I2cError and never throw synchronously. init() may be
 * called again after any failure (a re-plugged or power-cycled sensor needs its reset and
 * calibration again); measure() assumes a successful init().
 */
export interface I2cSensorDriver {
  /** Part family, for names and logs. */
  readonly kind: 'sht3x' | 'bme280';
  /** 7-bit device address. */
  readonly address: number;
  /** Probes and resets the device and loads what measure() needs (e.g. calibration). */
  init(): Promise<void>;
  /** Triggers one measurement, waits the datasheet's conversion time and reads the result. */
  measure(): Promise<I2cMeasurement>;
}

/** Waits `ms` milliseconds. Injected into drivers so tests never wait on real time. */
export type Sleep = (ms: number) => Promise<void>;

/** A Sleep on an injected clock: with ManualClock it resolves when the test advances time. */
export function clockSleep(clock: Clock): Sleep {
  return (ms) =>
    new Promise<void>((resolve) => {
      clock.setTimeout(resolve, ms);
    });
}
