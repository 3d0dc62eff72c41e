import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Prng } from '../device-sim/prng.ts';
import { BridgeError } from './errors.ts';
import { MAX_LINE_BYTES } from './messages.ts';
import type { CommandName, Message } from './messages.ts';
import { decodeLine, encodeMessage } from './protocol.ts';
import { crcHex } from './crc.ts';

interface Vectors {
  crc: { input: string; check: string };
  maxLineBytes: number;
  vectors: Array<{ note: string; line: string; message?: Message; reject?: string }>;
}
const vectors = JSON.parse(readFileSync(new URL('./test-vectors.json', import.meta.url), 'utf8')) as Vectors;

describe('test-vectors.json', () => {
  it('states the CRC check value and line limit this code uses', () => {
    expect(crcHex(vectors.crc.input)).toBe(vectors.crc.check);
    expect(vectors.maxLineBytes).toBe(MAX_LINE_BYTES);
    expect(vectors.vectors.length).toBeGreaterThanOrEqual(20);
  });

  for (const v of vectors.vectors) {
    if (v.message) {
      it(`decodes and re-encodes exactly: ${v.note}`, () => {
        expect(decodeLine(v.line)).toEqual({ ok: true, message: v.message });
        expect(encodeMessage(v.message!)).toBe(`${v.line}\n`);
      });
    } else {
      it(`rejects as ${v.reject}: ${v.note}`, () => {
        const result = decodeLine(v.line);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.rejection.reject).toBe(v.reject);
      });
    }
  }
});

describe('decodeLine', () => {
  const good = '$HC1,B,10000,10*E5D8';
  it('accepts "\\n" and "\\r\\n" terminators', () => {
    expect(decodeLine(`${good}\n`)).toEqual({ ok: true, message: { type: 'B', uptimeMs: 10000, seq: 10 } });
    expect(decodeLine(`${good}\r\n`).ok).toBe(true);
  });

  it('names what was wrong in the detail', () => {
    const r = decodeLine('$HC1,R,sim-1,0,1523,100.01,21.42,0*7311');
    expect(r).toMatchObject({ ok: false, rejection: { reject: 'out_of_range' } });
    if (!r.ok) expect(r.rejection.detail).toContain('RH 100.01');
  });

  it('checks the CRC before the version, so a corrupted version byte is a checksum error', () => {
    expect(decodeLine(good.replace('HC1', 'HC2'))).toMatchObject({ ok: false, rejection: { reject: 'checksum' } });
  });
});

describe('encodeMessage', () => {
  it('refuses what v1 cannot carry with EINVALID_MESSAGE naming the field', () => {
    const bad: Message = { type: 'R', sensorId: 'sim-1', seq: 0, uptimeMs: 0, rh: 101, tempC: null, status: 0 };
    expect(() => encodeMessage(bad)).toThrow(BridgeError);
    expect(() => encodeMessage(bad)).toThrow(/RH/);
    expect(() => encodeMessage({ type: 'E', code: 'x', text: 'a,b' })).toThrow(/cannot encode/);
    try {
      encodeMessage({ type: 'R', sensorId: 'has space', seq: 0, uptimeMs: 0, rh: 1, tempC: null, status: 0 });
      expect.unreachable();
    } catch (err) {
      expect((err as BridgeError).code).toBe('EINVALID_MESSAGE');
    }
  });

  it('rounds to the wire resolution of 0.01 and never writes "-0.00"', () => {
    const line = encodeMessage({ type: 'R', sensorId: 's', seq: 1, uptimeMs: 2, rh: 45.678, tempC: -0.001, status: 0 });
    expect(line).toMatch(/^\$HC1,R,s,1,2,45\.68,0\.00,0\*[0-9A-F]{4}\n$/);
  });
});

describe('round trip over generated messages', () => {
  const rng = new Prng(20260101);
  const idChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const id = (): string => Array.from({ length: rng.int(1, 32) }, () => rng.pick([...idChars])).join('');
  const cents = (min: number, max: number): number => rng.int(min * 100, max * 100) / 100;
  const text = (): string => Array.from({ length: rng.int(0, 60) }, () => String.fromCharCode(rng.pick([...Array(95).keys()].map((k) => k + 32).filter((c) => c !== 0x2c && c !== 0x24 && c !== 0x2a)))).join('');

  function generate(): Message {
    switch (rng.int(0, 5)) {
      case 0: {
        const status = rng.next() < 0.8 ? 0 : rng.int(1, 255);
        return {
          type: 'R', sensorId: id(), seq: rng.int(0, 0xffffffff), uptimeMs: rng.int(0, 2 ** 40), status,
          rh: status !== 0 && rng.next() < 0.5 ? null : cents(0, 100),
          tempC: rng.next() < 0.2 ? null : cents(-40, 125),
        };
      }
      case 1:
        return { type: 'H', firmware: id(), model: id(), bootId: rng.int(0, 0xffffffff).toString(16).toUpperCase().padStart(8, '0'), sensorIds: Array.from({ length: rng.int(1, 4) }, id) };
      case 2:
        return { type: 'B', uptimeMs: rng.int(0, 2 ** 40), seq: rng.int(0, 0xffffffff) };
      case 3:
        return { type: 'E', code: id().toLowerCase().replace(/-/g, '_'), text: text() };
      case 4:
        return { type: 'A', id: rng.int(0, 0xffffffff), ok: rng.next() < 0.5, payload: text() };
      default: {
        const name = rng.pick<CommandName>(['interval', 'info', 'cal', 'reboot']);
        const arg = name === 'interval' ? rng.int(100, 3_600_000) : name === 'cal' ? cents(-20, 20) : null;
        return { type: 'C', id: rng.int(0, 0xffffffff), name, arg };
      }
    }
  }

  it('decode(encode(m)) equals m and encode(decode(line)) equals line for 5000 messages', () => {
    for (let i = 0; i < 5000; i++) {
      const msg = generate();
      const line = encodeMessage(msg);
      expect(line.length).toBeLessThanOrEqual(MAX_LINE_BYTES + 1);
      const back = decodeLine(line);
      expect(back).toEqual({ ok: true, message: msg });
      if (back.ok) expect(encodeMessage(back.message)).toBe(line);
    }
  });

  it('flipping any one character of a valid line never yields a different accepted message', () => {
    for (let i = 0; i < 500; i++) {
      const line = encodeMessage(generate()).trimEnd();
      const pos = rng.int(0, line.length - 1);
      const replacement = String.fromCharCode(rng.int(32, 126));
      if (replacement === line[pos]) continue;
      const mutated = line.slice(0, pos) + replacement + line.slice(pos + 1);
      const result = decodeLine(mutated);
      // CRC-16 detects every single-byte error in the body; a change in the frame is unparsable.
      expect(result.ok).toBe(false);
    }
  });
});
