import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Prng } from '../device-sim/prng.ts';
import { LineDecoder } from './codec.ts';
import { MAX_LINE_BYTES, REJECT_REASONS } from './messages.ts';
import type { Message, RejectReason } from './messages.ts';
import { decodeLine } from './protocol.ts';

/**
 * Fuzz: 100,000 random and mutated lines through the LineDecoder. Nothing may throw, and every
 * non-empty line must come out either as one message or as one rejection counted by reason, with
 * the totals balancing exactly. An independent per-line oracle (decodeLine on the same bytes)
 * says which; the decoder gets the bytes concatenated and cut into random chunks, so its own
 * line splitting and over-long-line discarding are what is under test.
 */

const LINES = 100_000;
const SEED = 0x48c1;

interface Vector {
  line: string;
}
const vectors = (JSON.parse(readFileSync(new URL('./test-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;
const seeds = vectors.map((v) => v.line);

/** A random byte that is not "\n" (a newline would split the line, which the chunking covers). */
function byte(rng: Prng): number {
  const b = rng.int(0, 254);
  return b >= 0x0a ? b + 1 : b;
}

function randomBytes(rng: Prng, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = byte(rng);
  return out;
}

const MUTATIONS: Array<(rng: Prng, line: Buffer) => Buffer> = [
  (_rng, line) => line, // unmutated vector: must decode or reject exactly as the vector says
  (rng, line) => {
    const out = Buffer.from(line);
    const flips = rng.int(1, 3);
    for (let i = 0; i < flips; i++) {
      const at = rng.int(0, out.length - 1);
      out[at] = (out[at] ?? 0) ^ (1 << rng.int(0, 7));
      if (out[at] === 0x0a) out[at] = 0x0b;
    }
    return out;
  },
  (rng, line) => line.subarray(0, rng.int(0, line.length - 1)), // truncation
  (rng, line) => {
    const at = rng.int(0, line.length);
    return Buffer.concat([line.subarray(0, at), randomBytes(rng, rng.int(1, 8)), line.subarray(at)]);
  },
  (rng) => randomBytes(rng, rng.int(0, 300)), // pure noise, sometimes over-long
  (rng, line) => Buffer.concat([line, Buffer.alloc(rng.int(MAX_LINE_BYTES - line.length, 2000), 'X')]), // overlong
  (rng, line) => {
    // Printable-only mutation of one field, so the CRC check (not the charset check) does the refusing.
    const text = line.toString('latin1').split('');
    const at = rng.int(1, Math.max(1, text.length - 6));
    text[at] = String.fromCharCode(rng.int(0x20, 0x7e));
    return Buffer.from(text.join(''), 'latin1');
  },
  (_rng, line) => Buffer.concat([line, Buffer.from('\r')]), // CRLF terminator
];

type Outcome = { kind: 'message' } | { kind: 'reject'; reason: RejectReason } | { kind: 'ignored' };

/** What one line must become, decided without the stream (mirrors the documented decoder contract). */
function oracle(line: Buffer): Outcome {
  if (line.length > MAX_LINE_BYTES + 1) return { kind: 'reject', reason: 'too_long' };
  let text = line.toString('latin1');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.length === 0) return { kind: 'ignored' };
  const result = decodeLine(text);
  return result.ok ? { kind: 'message' } : { kind: 'reject', reason: result.rejection.reject };
}

describe('LineDecoder fuzz', () => {
  it(`accounts for every one of ${LINES} random and mutated lines`, async () => {
    const rng = new Prng(SEED);
    const expected: Record<RejectReason, number> = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
    let expectedMessages = 0;
    let ignored = 0;
    const lines: Buffer[] = [];
    for (let i = 0; i < LINES; i++) {
      const line = rng.pick(MUTATIONS)(rng, Buffer.from(rng.pick(seeds), 'latin1'));
      lines.push(line, Buffer.from('\n'));
      const outcome = oracle(line);
      if (outcome.kind === 'message') expectedMessages += 1;
      else if (outcome.kind === 'reject') expected[outcome.reason] += 1;
      else ignored += 1;
    }
    const wire = Buffer.concat(lines);

    const decoder = new LineDecoder();
    const messages: Message[] = [];
    let rejectedEvents = 0;
    const errors: Error[] = [];
    decoder.on('data', (m: Message) => messages.push(m));
    decoder.on('rejected', () => (rejectedEvents += 1));
    decoder.on('error', (err) => errors.push(err));
    // Random chunk sizes, so lines are split across writes anywhere, including inside "\r\n".
    for (let at = 0; at < wire.length; ) {
      const n = rng.int(1, 700);
      decoder.write(wire.subarray(at, at + n));
      at += n;
    }
    decoder.end();
    await new Promise<void>((resolve) => decoder.once('end', resolve));

    expect(errors).toEqual([]);
    const counts = decoder.counts();
    expect(counts).toEqual(expected);
    expect(messages.length).toBe(expectedMessages);
    const totalRejected = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(rejectedEvents).toBe(totalRejected);
    expect(messages.length + totalRejected + ignored).toBe(LINES);
    // The mix must actually exercise every path, or the balance above proves little.
    for (const reason of ['checksum', 'too_long', 'unparsable', 'out_of_range'] as const) expect(counts[reason]).toBeGreaterThan(100);
    expect(expectedMessages).toBeGreaterThan(5000);
  });
});
