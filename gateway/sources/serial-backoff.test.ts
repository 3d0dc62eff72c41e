import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { LinkState } from '../types.ts';
import { SerialSource } from './serial-source.ts';

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SerialSource reconnect schedule (ManualClock)', () => {
  it('retries a missing device with exponential backoff capped at the maximum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hygrocast-missing-'));
    dirs.push(dir);
    const clock = new ManualClock();
    const source = new SerialSource({ path: join(dir, 'no-such-tty'), clock, backoffInitialMs: 250, backoffMaxMs: 1000 });
    const links: Array<[LinkState, string]> = [];
    source.on('link', (s, d) => links.push([s, d]));
    await source.start();
    const downs = () => links.filter(([s]) => s === 'down').length;
    const connects = () => links.filter(([s]) => s === 'connecting').length;

    for (const [i, delay] of [250, 500, 1000, 1000].entries()) {
      await waitFor(`failure ${i + 1}`, () => downs() === i + 1);
      expect(links.at(-1)?.[1]).toContain('no-such-tty');
      clock.advance(delay - 1);
      expect(connects()).toBe(i + 1);
      clock.advance(1);
      expect(connects()).toBe(i + 2);
    }
    await source.stop();
    expect(links.at(-1)).toEqual(['down', 'stopped']);
    await expect(source.sendCommand('info')).rejects.toMatchObject({ code: 'ENOT_CONNECTED' });
  });

  it('refuses bad options with a code and a message naming the option', () => {
    expect(() => new SerialSource({ path: '' })).toThrow(/path/);
    expect(() => new SerialSource({ path: '/dev/null', dataTimeoutMs: 0 })).toThrow(/dataTimeoutMs/);
    try {
      new SerialSource({ path: '/dev/null', backoffInitialMs: 10, backoffMaxMs: 5 });
      expect.unreachable();
    } catch (err) {
      expect((err as { code?: string }).code).toBe('EINVALID_OPTION');
    }
  });
});
