import { LineDecoder } from '../firmware-bridge/codec.ts';
import type { ReadingMessage } from '../firmware-bridge/messages.ts';
import { encodeMessage } from '../firmware-bridge/protocol.ts';
import { Prng } from '../device-sim/prng.ts';
import { emit } from './figure.ts';

/**
 * `npm run bench -- decode`: reading lines per second through the LineDecoder (split, frame,
 * CRC, fields, range checks), against the line rate of a 115200-baud link carrying the same
 * lines (8N1: 10 bits per byte, so 11,520 bytes/s divided by the mean line length with "\n").
 * Lines are realistic: 4 sensors, growing seq and uptime, RH and temperature with 2 decimals,
 * fed in 4 KiB chunks as a serial port delivers them.
 */

const LINES = 400_000;
const CHUNK_BYTES = 4096;
const LINK_BYTES_PER_S = 115_200 / 10;

function wireBytes(): { wire: Buffer; meanLineBytes: number } {
  const rng = new Prng(7);
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const msg: ReadingMessage = {
      type: 'R',
      sensorId: `room-${i % 4}`,
      seq: Math.floor(i / 4),
      uptimeMs: 1000 * Math.floor(i / 4) + rng.int(0, 999),
      rh: Math.round(rng.next() * 10000) / 100,
      tempC: Math.round((rng.next() * 40 - 5) * 100) / 100,
      status: 0,
    };
    lines.push(encodeMessage(msg));
  }
  const wire = Buffer.from(lines.join(''), 'latin1');
  return { wire, meanLineBytes: wire.length / LINES };
}

function decodeAll(wire: Buffer): number {
  const decoder = new LineDecoder({ highWaterMark: 1 << 20 });
  let n = 0;
  decoder.on('data', () => (n += 1));
  for (let at = 0; at < wire.length; at += CHUNK_BYTES) decoder.write(wire.subarray(at, at + CHUNK_BYTES));
  decoder.end();
  return n;
}

export async function main(): Promise<void> {
  const { wire, meanLineBytes } = wireBytes();
  decodeAll(wire.subarray(0, wire.length / 8)); // warm-up: JIT the regexes and the CRC loop
  const start = process.hrtime.bigint();
  const decoded = decodeAll(wire);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (decoded !== LINES) throw new Error(`decoded ${decoded} of ${LINES} lines: the bench input is broken`);
  const linkLinesPerS = LINK_BYTES_PER_S / meanLineBytes;
  emit({ bench: 'decode', figure: 'lines_per_s', value: LINES / seconds, unit: 'lines/s', peer: '115200-baud link', peer_value: linkLinesPerS, mean_line_bytes: Number(meanLineBytes.toFixed(1)) });
  emit({ bench: 'decode', figure: 'wall_per_line', value: (seconds * 1e6) / LINES, unit: 'µs/line' });
}
