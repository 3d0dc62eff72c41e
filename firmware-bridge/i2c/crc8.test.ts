import { describe, expect, it } from 'vitest';
import { crc8Sensirion } from './crc8.ts';

describe('crc8Sensirion', () => {
  it('matches the SHT3x datasheet example: 0xBEEF -> 0x92', () => {
    expect(crc8Sensirion([0xbe, 0xef])).toBe(0x92);
  });

  it('matches the CRC-8/NRSC-5 catalogue check value for "123456789"', () => {
    expect(crc8Sensirion(Buffer.from('123456789', 'ascii'))).toBe(0xf7);
  });

  it('is the init value for no data and differs for a single flipped bit', () => {
    expect(crc8Sensirion([])).toBe(0xff);
    expect(crc8Sensirion([0xbe, 0xee])).not.toBe(0x92);
  });
});
