/** BME280 register map and timing (datasheet sections 5.3, 5.4 and 9.1). */
export const BME280 = {
  ADDRESS_DEFAULT: 0x76, // SDO to GND
  ADDRESS_ALT: 0x77, // SDO to VDDIO
  CHIP_ID: 0x60,
  /** The BMP280 answers with 0x56..0x58: same T/P front end, no humidity. */
  BMP280_CHIP_IDS: [0x56, 0x57, 0x58] as readonly number[],
  REG_CHIP_ID: 0xd0,
  REG_RESET: 0xe0,
  RESET_WORD: 0xb6,
  REG_CTRL_HUM: 0xf2,
  REG_STATUS: 0xf3,
  REG_CTRL_MEAS: 0xf4,
  REG_CONFIG: 0xf5,
  /** press_msb..hum_lsb, read in one burst so all three come from the same conversion (5.4.8). */
  REG_DATA: 0xf7,
  DATA_LENGTH: 8,
  STATUS_MEASURING: 0x08,
  STATUS_IM_UPDATE: 0x01,
  MODE_SLEEP: 0b00,
  MODE_FORCED: 0b01,
  /** Power-on/soft-reset start-up time (Table 1: t_startup max 2 ms). */
  STARTUP_MS: 2,
  /** Reset values of the data registers, reported for a skipped measurement (5.4.7/5.4.8). */
  SKIPPED_20BIT: 0x80000,
  SKIPPED_16BIT: 0x8000,
} as const;

/** Oversampling setting code (osrs_x field) to factor: 0 = skipped, 1..5 = x1..x16. */
export function oversamplingFactor(code: number): number {
  return code === 0 ? 0 : 2 ** (Math.min(code, 5) - 1);
}

/**
 * Maximum measurement time in ms for the given osrs codes (datasheet 9.1, t_measure,max):
 * 1.25 + 2.3*T + (2.3*P + 0.575) + (2.3*H + 0.575), a term dropped when that channel is skipped.
 */
export function measurementTimeMaxMs(osrsT: number, osrsP: number, osrsH: number): number {
  const t = oversamplingFactor(osrsT);
  const p = oversamplingFactor(osrsP);
  const h = oversamplingFactor(osrsH);
  return 1.25 + 2.3 * t + (p ? 2.3 * p + 0.575 : 0) + (h ? 2.3 * h + 0.575 : 0);
}
