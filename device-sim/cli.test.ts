import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SerialSource } from '../gateway/sources/serial-source.ts';
import type { LinkState, Reading } from '../gateway/types.ts';
import { requireTool } from '../test/prereq.ts';
import { parseReplayCsv } from './replay-data.ts';
import { waitFor as pollUntil } from '../test/wait.ts';
import { cleanupAfterEach } from '../test/cleanups.ts';

/**
 * The device-sim CLI as an operator runs it (`hygrocast replay ...` runs device-sim/replay.ts):
 * a real CSV replayed on a socat pty with bad checksums injected and the pty unplugged every
 * second; the gateway's SerialSource must count the bad lines, see the link go down, come back
 * by itself, and receive real CSV values only.
 */

const socat = requireTool('socat');
const repoRoot = path.resolve(import.meta.dirname, '..');
const csv = path.resolve(repoRoot, '../shared/data/appliances_rh_10min.train.csv');

const cleanups = cleanupAfterEach();

/** The shared poll at this file's 20 ms step and 20_000 ms default bound. */
function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  return pollUntil(check, what, timeoutMs, 20);
}

describe.skipIf(socat === null)('device-sim CLI: replay with faults and unplugging', () => {
  it('replays real values through bad checksums and unplug cycles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hygrocast-cli-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const link = join(dir, 'ttyHYGRO');
    const args = ['--import', 'tsx', join(repoRoot, 'device-sim/replay.ts'), csv, '--column', 'RH_1', '--temp-column', 'T1', '--speedup', '30000'];
    args.push('--pty', link, '--quiet', '--sensors', 'kitchen', '--bad-crc-rate', '0.2', '--unplug-every-s', '1', '--unplug-for-s', '0.3');
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    });
    await waitFor(`the CLI to announce ${link} (stderr: ${stderr})`, () => stderr.includes('gateway should open'));

    const source = new SerialSource({ path: link, dataTimeoutMs: 1000, backoffInitialMs: 50, backoffMaxMs: 200 });
    const readings: Reading[] = [];
    const links: LinkState[] = [];
    source.on('reading', (r) => readings.push(r));
    source.on('link', (s) => links.push(s));
    cleanups.push(() => source.stop());
    await source.start();
    await waitFor('two unplugs survived', () => links.filter((s) => s === 'up').length >= 3 && readings.length >= 30);

    const rows = parseReplayCsv(readFileSync(csv, 'utf8'), { column: 'RH_1', tempColumn: 'T1', maxRows: 20_000 });
    expect(readings.every((r) => r.sensorId === 'kitchen' && r.rh === rows[r.seq]?.rh && r.tempC === rows[r.seq]?.tempC)).toBe(true);
    expect(source.rejectedCounts().checksum).toBeGreaterThan(0);
    expect(links).toContain('down');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 40_000);
});
