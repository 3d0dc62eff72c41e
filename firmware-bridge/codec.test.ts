import { describe, expect, it } from 'vitest';
import { LineDecoder, LineEncoder } from './codec.ts';
import type { Message, RejectReason } from './messages.ts';
import { encodeMessage } from './protocol.ts';

const reading = (seq: number): Message => ({ type: 'R', sensorId: 'sim-1', seq, uptimeMs: seq * 1000, rh: 40 + seq / 100, tempC: 21.5, status: 0 });

/** Feeds chunks synchronously and collects what comes out; Transform pushes synchronously. */
function run(chunks: Array<Buffer | string>, decoder = new LineDecoder()): { messages: Message[]; rejected: Array<[RejectReason, string]>; decoder: LineDecoder } {
  const messages: Message[] = [];
  const rejected: Array<[RejectReason, string]> = [];
  decoder.on('data', (m: Message) => messages.push(m));
  decoder.on('rejected', (reason: RejectReason, excerpt: string) => rejected.push([reason, excerpt]));
  for (const chunk of chunks) decoder.write(chunk);
  return { messages, rejected, decoder };
}

describe('LineDecoder', () => {
  it('counts a garbage line under its reason, skips it and decodes the next good line', () => {
    const good = encodeMessage(reading(1));
    const badCrc = encodeMessage(reading(2)).replace(/\*[0-9A-F]{4}/, '*0000');
    const { messages, rejected, decoder } = run([`garbage\n${badCrc}${good}`]);
    expect(messages).toEqual([reading(1)]);
    expect(rejected.map(([r]) => r)).toEqual(['unparsable', 'checksum']);
    expect(rejected[0]?.[1]).toBe('garbage');
    expect(decoder.counts()).toEqual({ checksum: 1, too_long: 0, unparsable: 1, out_of_range: 0, unsupported_version: 0 });
  });

  it('drops a too-long line while it streams, without buffering it, and recovers', () => {
    const decoder = new LineDecoder();
    const chunk = Buffer.alloc(1000, 'X');
    const { messages, rejected } = run([], decoder);
    for (let i = 0; i < 100; i++) {
      decoder.write(chunk);
      // The partial line never grows beyond one line: the internal buffer is reset on overflow.
      expect((decoder as unknown as { partial: Buffer }).partial.length).toBeLessThanOrEqual(257);
    }
    decoder.write(`\n${encodeMessage(reading(3))}`);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.[0]).toBe('too_long');
    expect(rejected[0]?.[1].length).toBe(80);
    expect(messages).toEqual([reading(3)]);
    expect(decoder.counts().too_long).toBe(1);
  });

  it('accepts a line of exactly the limit with "\\r\\n" and rejects one byte more', () => {
    const body = `HC1,E,x,${'y'.repeat(256 - 14)}`;
    const line = encodeMessage({ type: 'E', code: 'x', text: 'y'.repeat(256 - 14) });
    expect(line.length).toBe(257);
    expect(body.length).toBe(250);
    const { messages, rejected } = run([line.replace('\n', '\r\n'), `$${'Z'.repeat(256)}\n`]);
    expect(messages).toHaveLength(1);
    expect(rejected.map(([r]) => r)).toEqual(['too_long']);
  });

  it('gives the same result whatever the chunk boundaries (byte by byte)', () => {
    const stream = [
      encodeMessage(reading(1)),
      'noise\r\n',
      encodeMessage({ type: 'H', firmware: '1.0.0', model: 'SIM', bootId: 'ABCDEF01', sensorIds: ['sim-1'] }).replace('\n', '\r\n'),
      '\n',
      `$${'Q'.repeat(300)}\n`,
      '$HC1,R,sim-1,0,1523,100.01,21.42,0*7311\n',
      encodeMessage(reading(2)),
      encodeMessage({ type: 'B', uptimeMs: 5, seq: 3 }),
    ].join('');
    const whole = run([stream]);
    const bytes = Buffer.from(stream, 'latin1');
    const byByte = run([...bytes].map((b) => Buffer.from([b])));
    const random = run(splitAt(bytes, [3, 17, 40, 41, 200, 333, 334, 500]));
    expect(whole.messages).toHaveLength(4);
    expect(whole.rejected.map(([r]) => r)).toEqual(['unparsable', 'too_long', 'out_of_range']);
    for (const other of [byByte, random]) {
      expect(other.messages).toEqual(whole.messages);
      expect(other.rejected).toEqual(whole.rejected);
    }
  });

  it('treats non-ASCII bytes as unparsable, never as another character', () => {
    const good = encodeMessage(reading(4));
    const corrupted = Buffer.from(good, 'latin1');
    corrupted[8] = 0xe9;
    const { messages, rejected } = run([corrupted, Buffer.from(good)]);
    expect(rejected.map(([r]) => r)).toEqual(['unparsable']);
    expect(messages).toEqual([reading(4)]);
  });

  it('decodes a final unterminated line at end of stream', async () => {
    const decoder = new LineDecoder();
    const out: Message[] = [];
    decoder.on('data', (m: Message) => out.push(m));
    const ended = new Promise((resolve) => decoder.on('end', resolve));
    decoder.end(encodeMessage(reading(5)).trimEnd());
    await ended;
    expect(out).toEqual([reading(5)]);
  });
});

describe('LineEncoder', () => {
  it('turns messages into the exact lines, decodable by LineDecoder', () => {
    const encoder = new LineEncoder();
    const chunks: Buffer[] = [];
    encoder.on('data', (b: Buffer) => chunks.push(b));
    encoder.write(reading(1));
    encoder.write({ type: 'C', id: 9, name: 'info', arg: null });
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text).toBe(encodeMessage(reading(1)) + '$HC1,C,9,info,*' + text.slice(-5));
    expect(run([text]).messages).toEqual([reading(1), { type: 'C', id: 9, name: 'info', arg: null }]);
  });

  it('fails the stream with EINVALID_MESSAGE for a message v1 cannot carry', async () => {
    const encoder = new LineEncoder();
    const failed = new Promise<{ code?: string }>((resolve) => encoder.once('error', resolve));
    encoder.write({ type: 'B', uptimeMs: -1, seq: 0 });
    expect((await failed).code).toBe('EINVALID_MESSAGE');
  });
});

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push(bytes.subarray(start, cut));
    start = cut;
  }
  parts.push(bytes.subarray(start));
  return parts;
}
