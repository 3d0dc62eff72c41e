import { describe, expect, it } from 'vitest';
import { LineDecoder } from '../firmware-bridge/codec.ts';
import type { Message, ReadingMessage } from '../firmware-bridge/messages.ts';
import { ManualClock } from '../gateway/clock.ts';
import { FaultInjector, Trickle } from './faults.ts';

function reading(seq: number): ReadingMessage {
  return { type: 'R', sensorId: `s${seq % 2}`, seq, uptimeMs: seq * 100, rh: 40 + (seq % 37) / 4, tempC: 21, status: 0 };
}

/** Runs `n` readings through a FaultInjector into a LineDecoder; returns what came out. */
async function run(n: number, injector: FaultInjector) {
  const decoder = new LineDecoder();
  const out: Message[] = [];
  decoder.on('data', (m: Message) => out.push(m));
  injector.on('data', (b: Buffer) => decoder.write(b));
  for (let i = 0; i < n; i++) injector.write(reading(i));
  injector.end();
  await new Promise<void>((resolve) => injector.once('end', resolve));
  decoder.end();
  return { readings: out.filter((m): m is ReadingMessage => m.type === 'R'), counts: decoder.counts(), injected: injector.counts() };
}

describe('FaultInjector', () => {
  it('injects garbage, bad CRCs, truncations and dropouts that the decoder counts one for one', async () => {
    const injector = new FaultInjector({ garbageRate: 0.05, badCrcRate: 0.05, truncateRate: 0.05, dropoutRate: 0.05, seed: 9 });
    const { readings, counts, injected } = await run(4000, injector);
    for (const kind of ['garbage', 'bad_crc', 'truncated', 'dropout'] as const) expect(injected[kind]).toBeGreaterThan(100);
    expect(counts.checksum).toBe(injected.bad_crc);
    expect(counts.unparsable).toBe(injected.garbage + injected.truncated);
    expect(readings).toHaveLength(4000 - injected.dropout - injected.bad_crc - injected.truncated);
    // Whatever did arrive is exactly what was sent.
    expect(readings.every((r) => JSON.stringify(r) === JSON.stringify(reading(r.seq)))).toBe(true);
  });

  it('makes every sensor repeat its last RH once the stuck point is reached', async () => {
    const { readings, injected } = await run(100, new FaultInjector({ stuckAfterReadings: 40 }));
    expect(readings.slice(0, 40)).toEqual(readings.slice(0, 40).map((r) => reading(r.seq)));
    const late = readings.slice(40);
    expect(new Set(late.filter((r) => r.sensorId === 's0').map((r) => r.rh))).toEqual(new Set([reading(40).rh]));
    expect(new Set(late.filter((r) => r.sensorId === 's1').map((r) => r.rh))).toEqual(new Set([reading(41).rh]));
    expect(injected.stuck).toBe(60);
  });

  it('refuses a rate outside [0, 1]', () => {
    expect(() => new FaultInjector({ badCrcRate: 1.5 })).toThrow(expect.objectContaining({ code: 'EINVALID_OPTION' }));
  });
});

describe('Trickle', () => {
  it('passes bytes unchanged, chunkBytes per tick at the configured rate', () => {
    const clock = new ManualClock();
    const trickle = new Trickle({ bytesPerS: 160, chunkBytes: 16, clock }); // one chunk per 100 ms
    const got: Buffer[] = [];
    trickle.on('data', (b: Buffer) => got.push(b));
    const input = Buffer.from('$HC1,R,s0,0,0,40.00,21.00,0*ABCD\n'.repeat(3), 'latin1');
    trickle.write(input);
    expect(Buffer.concat(got).length).toBe(16);
    clock.advance(100);
    expect(Buffer.concat(got).length).toBe(32);
    clock.advance(10_000);
    expect(Buffer.concat(got)).toEqual(input);
    expect(got.every((b) => b.length <= 16)).toBe(true);
    trickle.destroy();
  });
});

describe('FaultInjector slow link', () => {
  it('trickles its output 16 bytes per tick', () => {
    const clock = new ManualClock();
    const injector = new FaultInjector({ slowBytesPerS: 160, clock });
    const got: Buffer[] = [];
    injector.on('data', (b: Buffer) => got.push(b));
    injector.write(reading(1));
    expect(Buffer.concat(got).length).toBe(16);
    clock.advance(10_000);
    const line = Buffer.concat(got).toString('latin1');
    expect(line.endsWith('\n') && line.startsWith('$HC1,R,s1,1,')).toBe(true);
    expect(got.every((b) => b.length <= 16)).toBe(true);
    injector.destroy();
  });
});
