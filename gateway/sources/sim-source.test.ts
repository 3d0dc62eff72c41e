import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { LinkState, Reading } from '../types.ts';
import { SimSource } from './sim-source.ts';

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('SimSource', () => {
  it('emits readings for every sensor at the interval, through the codec, with boot ids', async () => {
    const clock = new ManualClock();
    const source = new SimSource({ sensors: ['sim-1', 'sim-2'], intervalMs: 1000, seed: 3, clock });
    const readings: Reading[] = [];
    const links: LinkState[] = [];
    source.on('reading', (r) => readings.push(r));
    source.on('link', (s) => links.push(s));
    await source.start();
    expect(links).toEqual(['connecting', 'up']);
    clock.advance(5000);
    await settle();
    expect(readings).toHaveLength(10);
    expect(readings.filter((r) => r.sensorId === 'sim-1').map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    const [a, b] = source.devices();
    expect(readings.find((r) => r.sensorId === 'sim-1')?.bootId).toBe(a?.currentBootId);
    expect(readings.find((r) => r.sensorId === 'sim-2')?.bootId).toBe(b?.currentBootId);
    for (const r of readings) {
      expect(r.quality).toEqual([]);
      // Two decimals: the value went through the wire encoding.
      expect(Math.round((r.rh ?? -1) * 100) / 100).toBe(r.rh);
      expect(r.wallTimeMs).toBe(Date.UTC(2026, 0, 1) + (r.uptimeMs));
    }
    expect(source.rejectedCounts()).toEqual({ checksum: 0, too_long: 0, unparsable: 0, out_of_range: 0, unsupported_version: 0 });
    await source.stop();
    expect(links.at(-1)).toBe('down');
    clock.advance(5000);
    await settle();
    expect(readings).toHaveLength(10);
  });

  it('gives the same readings for the same seed', async () => {
    const run = async (seed: number) => {
      const clock = new ManualClock();
      const source = new SimSource({ sensors: ['x'], seed, clock });
      const rh: Array<number | null> = [];
      source.on('reading', (r) => rh.push(r.rh));
      await source.start();
      clock.advance(20_000);
      await settle();
      await source.stop();
      return rh;
    };
    expect(await run(9)).toEqual(await run(9));
    expect(await run(9)).not.toEqual(await run(10));
  });
});
