import type { Bme280Calibration } from './bme280-calibration.ts';

/*
 * Bosch's fixed-point compensation (BME280 datasheet section 4.2.3, rev 1.6+; identical T/P
 * formulas in BMP280 datasheet section 3.11.3). The C reference uses int32/int64 arithmetic with
 * arithmetic right shifts. Here 32-bit steps use doubles with floor division, exact for every
 * intermediate below 2^53 and immune to JavaScript's ToInt32 wrap on `>>`; the pressure formula
 * needs 64 bits and runs on BigInt, whose `>>` and `/` match C's arithmetic shift and truncating
 * division.
 */

/** Arithmetic shift right, as C's `>>` on a signed value. */
const asr = (x: number, n: number): number => Math.floor(x / 2 ** n);

/** Temperature: returns 0.01 degC steps and t_fine, the fine temperature the other formulas need. */
export function compensateTemperature(adcT: number, c: Bme280Calibration): { centiC: number; tFine: number } {
  const var1 = asr((asr(adcT, 3) - c.digT1 * 2) * c.digT2, 11);
  const d = asr(adcT, 4) - c.digT1;
  const var2 = asr(asr(d * d, 12) * c.digT3, 14);
  const tFine = var1 + var2;
  return { tFine, centiC: asr(tFine * 5 + 128, 8) };
}

/**
 * Pressure (BME280_compensate_P_int64): returns Pa in Q24.8 (divide by 256 for Pa), or 0 when
 * dig_P1 is 0, which the reference returns to avoid a division by zero.
 */
export function compensatePressureQ24_8(adcP: number, tFine: number, c: Bme280Calibration): number {
  let var1 = BigInt(tFine) - 128000n;
  let var2 = var1 * var1 * BigInt(c.digP6);
  var2 = var2 + ((var1 * BigInt(c.digP5)) << 17n);
  var2 = var2 + (BigInt(c.digP4) << 35n);
  var1 = ((var1 * var1 * BigInt(c.digP3)) >> 8n) + ((var1 * BigInt(c.digP2)) << 12n);
  var1 = (((1n << 47n) + var1) * BigInt(c.digP1)) >> 33n;
  if (var1 === 0n) return 0;
  let p = 1048576n - BigInt(adcP);
  p = (((p << 31n) - var2) * 3125n) / var1;
  var1 = (BigInt(c.digP9) * (p >> 13n) * (p >> 13n)) >> 25n;
  var2 = (BigInt(c.digP8) * p) >> 19n;
  p = ((p + var1 + var2) >> 8n) + (BigInt(c.digP7) << 4n);
  return Number(p);
}

/** Upper clamp of the humidity formula: 100 %RH in Q22.10 before the final >> 12. */
const H_MAX = 419430400;

/**
 * Humidity (bme280_compensate_H_int32): returns %RH in Q22.10 (divide by 1024), clamped by the
 * formula itself to 0..100 %RH.
 */
export function compensateHumidityQ22_10(adcH: number, tFine: number, c: Bme280Calibration): number {
  let v = tFine - 76800;
  const scaled = asr(adcH * 2 ** 14 - c.digH4 * 2 ** 20 - c.digH5 * v + 16384, 15);
  const tempTerm = asr(asr(v * c.digH6, 10) * (asr(v * c.digH3, 11) + 32768), 10) + 2097152;
  v = scaled * asr(tempTerm * c.digH2 + 8192, 14);
  v = v - asr(asr(asr(v, 15) * asr(v, 15), 7) * c.digH1, 4);
  v = Math.min(Math.max(v, 0), H_MAX);
  return asr(v, 12);
}

/** All three in physical units from raw ADC values; `pressurePa` is absent when P was skipped. */
export function compensateBme280(
  raw: { adcT: number; adcP: number | null; adcH: number },
  c: Bme280Calibration,
): { tempC: number; pressurePa?: number; rh: number; tFine: number } {
  const { centiC, tFine } = compensateTemperature(raw.adcT, c);
  const rh = compensateHumidityQ22_10(raw.adcH, tFine, c) / 1024;
  const out: { tempC: number; pressurePa?: number; rh: number; tFine: number } = { tempC: centiC / 100, rh, tFine };
  if (raw.adcP !== null) out.pressurePa = compensatePressureQ24_8(raw.adcP, tFine, c) / 256;
  return out;
}
