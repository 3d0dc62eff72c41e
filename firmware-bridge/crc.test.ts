import { describe, expect, it } from 'vitest';
import { crc16, crc16Ascii, crcHex } from './crc.ts';

describe('CRC-16/CCITT-FALSE', () => {
  it('has the catalogue check value 0x29B1 for "123456789"', () => {
    expect(crc16(Buffer.from('123456789', 'ascii'))).toBe(0x29b1);
    expect(crc16Ascii('123456789')).toBe(0x29b1);
    expect(crcHex('123456789')).toBe('29B1');
  });

  it('is the init value for no bytes and pads to 4 uppercase hex digits', () => {
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
    expect(crcHex('')).toBe('FFFF');
    expect(crcHex('A')).toMatch(/^[0-9A-F]{4}$/);
  });

  it('detects a single changed byte', () => {
    expect(crcHex('HC1,B,10000,10')).not.toBe(crcHex('HC1,B,10000,11'));
  });
});
