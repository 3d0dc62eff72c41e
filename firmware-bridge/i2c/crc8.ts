/**
 * Sensirion CRC-8 (SHT3x datasheet section 4.12; CRC-8/NRSC-5 in the RevEng catalogue):
 * width 8, poly 0x31 (x^8 + x^5 + x^4 + 1), init 0xFF, refin false, refout false, xorout 0x00.
 * Datasheet example: crc8Sensirion([0xBE, 0xEF]) === 0x92. Computed bitwise: the sensor sends two
 * CRCs per measurement, so a 256-entry table buys nothing.
 */
export function crc8Sensirion(bytes: ArrayLike<number>): number {
  let crc = 0xff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= (bytes[i] ?? 0) & 0xff;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
    }
  }
  return crc;
}
