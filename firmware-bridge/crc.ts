/**
 * CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740 in the Williams/RevEng catalogue):
 * width 16, poly 0x1021, init 0xFFFF, refin false, refout false, xorout 0x0000,
 * check value 0x29B1 (CRC of the ASCII bytes "123456789").
 * Chosen because it is the one 16-bit CRC every microcontroller SDK already ships, and a
 * bitwise implementation is ten lines of C for firmware without a table.
 */

const TABLE: Uint16Array = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[byte] = crc;
  }
  return table;
}

/** CRC-16/CCITT-FALSE over raw bytes. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] ?? 0);
  }
  return crc;
}

/**
 * CRC-16/CCITT-FALSE over a string whose characters are single bytes (ASCII or latin1, as the
 * line decoder produces); characters above 0xFF are not expected and are truncated to 8 bits.
 */
export function crc16Ascii(text: string): number {
  let crc = 0xffff;
  for (let i = 0; i < text.length; i++) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ text.charCodeAt(i)) & 0xff] ?? 0);
  }
  return crc;
}

/** The checksum as it appears on the wire: 4 uppercase hex digits. */
export function crcHex(text: string): string {
  return crc16Ascii(text).toString(16).toUpperCase().padStart(4, '0');
}
