import type { Clock } from '../clock.ts';
import type { SourceConfig } from '../config/schema.ts';
import { createI2cSource } from '../../firmware-bridge/i2c/i2c-config.ts';
import { SerialSource } from './serial-source.ts';
import { SimSource } from './sim-source.ts';
import type { ReadingSource } from './source.ts';

/** Builds the reading source a config entry describes. */
export function createSource(config: SourceConfig, clock: Clock): ReadingSource {
  switch (config.type) {
    case 'sim':
      return new SimSource({ sensors: config.sensors, intervalMs: config.intervalMs, seed: config.seed, clock });
    case 'serial':
      return new SerialSource({
        path: config.path,
        baudRate: config.baudRate,
        dataTimeoutMs: config.dataTimeoutMs,
        commandTimeoutMs: config.commandTimeoutMs,
        clock,
      });
    case 'i2c':
      return createI2cSource(
        { bus: config.bus, driver: config.driver, sensorId: config.sensorId, intervalMs: config.intervalMs, ...(config.address === undefined ? {} : { address: config.address }) },
        { clock },
      );
  }
}
