import { I2cError } from './errors.ts';

/** Factory trimming parameters of one BME280 (datasheet section 4.2.2, Table 16). */
export interface Bme280Calibration {
  digT1: number; // unsigned 16
  digT2: number; // signed 16
  digT3: number; // signed 16
  digP1: number; // unsigned 16
  digP2: number;
  digP3: number;
  digP4: number;
  digP5: number;
  digP6: number;
  digP7: number;
  digP8: number;
  digP9: number; // P2..P9 signed 16
  digH1: number; // unsigned 8
  digH2: number; // signed 16
  digH3: number; // unsigned 8
  digH4: number; // signed 12
  digH5: number; // signed 12
  digH6: number; // signed 8
}

/** First calibration block: 0x88..0xA1 (0xA0 is unused). */
export const CALIB_BLOCK1_START = 0x88;
export const CALIB_BLOCK1_LENGTH = 26;
/** Second calibration block: 0xE1..0xE7. */
export const CALIB_BLOCK2_START = 0xe1;
export const CALIB_BLOCK2_LENGTH = 7;

/**
 * Temperature and pressure trimming from the worked example in the BMP280 datasheet section
 * 3.12 (the BME280 shares the T/P front end and formulas). The datasheets give no humidity
 * example; the H values are representative of production BME280 parts.
 */
export const DATASHEET_EXAMPLE_CALIBRATION: Readonly<Bme280Calibration> = Object.freeze({
  digT1: 27504,
  digT2: 26435,
  digT3: -1000,
  digP1: 36477,
  digP2: -10685,
  digP3: 3024,
  digP4: 2855,
  digP5: 140,
  digP6: -7,
  digP7: 15500,
  digP8: -14600,
  digP9: 6000,
  digH1: 75,
  digH2: 362,
  digH3: 0,
  digH4: 313,
  digH5: 50,
  digH6: 30,
});

const u16 = (b: Uint8Array, i: number): number => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const s16 = (b: Uint8Array, i: number): number => (u16(b, i) << 16) >> 16;
const s8 = (v: number): number => (v << 24) >> 24;

/**
 * Decodes both calibration blocks. dig_H4 and dig_H5 are 12-bit signed values sharing register
 * 0xE5: H4 = 0xE4[7:0] << 4 | 0xE5[3:0], H5 = 0xE6[7:0] << 4 | 0xE5[7:4], with the high byte
 * signed (datasheet Table 16; Bosch's reference driver casts it through int8_t).
 */
export function parseBme280Calibration(block1: Uint8Array, block2: Uint8Array): Bme280Calibration {
  if (block1.length !== CALIB_BLOCK1_LENGTH || block2.length !== CALIB_BLOCK2_LENGTH) {
    throw new I2cError(
      'EINVAL',
      `BME280 calibration blocks must be ${CALIB_BLOCK1_LENGTH} and ${CALIB_BLOCK2_LENGTH} bytes, got ${block1.length} and ${block2.length}`,
    );
  }
  const e4 = block2[3] ?? 0;
  const e5 = block2[4] ?? 0;
  const e6 = block2[5] ?? 0;
  const cal: Bme280Calibration = {
    digT1: u16(block1, 0),
    digT2: s16(block1, 2),
    digT3: s16(block1, 4),
    digP1: u16(block1, 6),
    digP2: s16(block1, 8),
    digP3: s16(block1, 10),
    digP4: s16(block1, 12),
    digP5: s16(block1, 14),
    digP6: s16(block1, 16),
    digP7: s16(block1, 18),
    digP8: s16(block1, 20),
    digP9: s16(block1, 22),
    digH1: block1[25] ?? 0,
    digH2: s16(block2, 0),
    digH3: block2[2] ?? 0,
    digH4: (s8(e4) * 16) | (e5 & 0x0f),
    digH5: (s8(e6) * 16) | (e5 >> 4),
    digH6: s8(block2[6] ?? 0),
  };
  // Erased NVM reads as all zeros or all ones; compensating with it yields plausible-looking
  // garbage, so refuse it here with a clear error.
  if (cal.digT1 === 0 || cal.digP1 === 0 || cal.digT1 === 0xffff || cal.digP1 === 0xffff) {
    throw new I2cError('ENODEV', `BME280 calibration looks blank (dig_T1=${cal.digT1}, dig_P1=${cal.digP1})`);
  }
  return cal;
}

/** The inverse of parseBme280Calibration: the register images a part with `cal` would hold. */
export function encodeBme280Calibration(cal: Bme280Calibration): { block1: Uint8Array; block2: Uint8Array } {
  const block1 = new Uint8Array(CALIB_BLOCK1_LENGTH);
  const words = [cal.digT1, cal.digT2, cal.digT3, cal.digP1, cal.digP2, cal.digP3, cal.digP4, cal.digP5, cal.digP6, cal.digP7, cal.digP8, cal.digP9];
  words.forEach((w, i) => {
    block1[2 * i] = w & 0xff;
    block1[2 * i + 1] = (w >> 8) & 0xff;
  });
  block1[25] = cal.digH1 & 0xff;
  const block2 = Uint8Array.of(
    cal.digH2 & 0xff,
    (cal.digH2 >> 8) & 0xff,
    cal.digH3 & 0xff,
    (cal.digH4 >> 4) & 0xff,
    ((cal.digH5 & 0x0f) << 4) | (cal.digH4 & 0x0f),
    (cal.digH5 >> 4) & 0xff,
    cal.digH6 & 0xff,
  );
  return { block1, block2 };
}
