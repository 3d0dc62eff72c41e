import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTool } from '../../test/prereq.ts';
import type { Message } from '../messages.ts';
import { decodeLine, encodeMessage } from '../protocol.ts';
import { cString, vectorsHeader } from './vectors-header.ts';

/**
 * The reference firmware's protocol code (protocol.cpp) compiled on the host with g++ and run
 * against the same test-vectors.json as the TypeScript codec: firmware and bridge cannot drift.
 */

const gxx = requireTool('g++');
const here = import.meta.dirname;
const vectors = JSON.parse(readFileSync(join(here, '../test-vectors.json'), 'utf8')) as Parameters<typeof vectorsHeader>[0];
const dir = mkdtempSync(join(tmpdir(), 'hygrocast-fw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function build(vectorsInc: string, name: string): string {
  writeFileSync(join(dir, 'vectors.inc'), vectorsInc);
  const bin = join(dir, name);
  execFileSync(gxx ?? 'g++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-O1', `-I${dir}`, '-o', bin, join(here, 'protocol.cpp'), join(here, 'host-test', 'protocol_test.cpp')], { stdio: 'pipe' });
  return bin;
}

function run(bin: string): { status: number; out: string } {
  try {
    return { status: 0, out: execFileSync(bin, { encoding: 'utf8' }) };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { status: e.status, out: e.stdout };
  }
}

describe('C++ protocol code of the reference firmware', () => {
  it('escapes any byte into a C string literal', () => {
    expect(cString('a"b\\c?\u00e9\n')).toBe('"a\\042b\\134c\\077\\351\\012"');
  });

  it.skipIf(gxx === null)('compiles with -Wall -Werror and passes every test vector', () => {
    const { status, out } = run(build(vectorsHeader(vectors), 'protocol_test'));
    const encodable = vectors.vectors.filter((v) => v.message && v.message.type !== 'C').length;
    const commands = vectors.vectors.filter((v) => v.message?.type === 'C').length;
    const rejects = vectors.vectors.filter((v) => v.reject).length;
    // 1 CRC check + 2 checks per encodable vector (exact bytes, too-small buffer) + 1 per command and reject.
    const expected = 1 + 2 * encodable + commands + rejects;
    expect(out).toContain(`${vectors.vectors.length} vectors, ${expected} passed, 0 failed`);
    expect(status).toBe(0);
  });

  it.skipIf(gxx === null)('the sketch compiles against stub Arduino headers, for SHT3x and for DHT22', () => {
    for (const header of ['Arduino.h', 'Wire.h', 'DHT.h']) writeFileSync(join(dir, header), '#include "arduino-stubs.h"\n');
    writeFileSync(join(dir, 'sketch.cpp'), readFileSync(join(here, 'hygrocast_sht3x.ino')));
    for (const defines of [[], ['-DHC_SENSOR_DHT22']]) {
      const args = ['-std=c++17', '-Wall', '-Wextra', '-Werror', ...defines, `-I${dir}`, `-I${here}`, `-I${join(here, 'host-test')}`, '-c', join(dir, 'sketch.cpp'), '-o', join(dir, 'sketch.o')];
      expect(() => execFileSync(gxx ?? 'g++', args, { stdio: 'pipe' })).not.toThrow();
    }
  });

  it.skipIf(gxx === null)('the sketch, run on the host: never silent for the data timeout, readings beyond the temperature range, greeting on a line of its own', () => {
    for (const header of ['Arduino.h', 'Wire.h', 'DHT.h']) writeFileSync(join(dir, header), '#include "arduino-stubs.h"\n');
    writeFileSync(join(dir, 'sketch.cpp'), readFileSync(join(here, 'hygrocast_sht3x.ino')));
    const bin = join(dir, 'sketch_host');
    execFileSync(gxx ?? 'g++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-O1', `-I${dir}`, `-I${here}`, `-I${join(here, 'host-test')}`, '-o', bin, join(dir, 'sketch.cpp'), join(here, 'protocol.cpp'), join(here, 'host-test', 'sketch_host.cpp')], { stdio: 'pipe' });
    // Every line the sketch wrote, with the millis() it was written at, decoded by the gateway's decoder.
    const sketch = (seconds: number, tempC: number, rh: number, command?: string): Array<{ ms: number; raw: string; message: Message | null }> =>
      execFileSync(bin, [String(seconds), String(tempC), String(rh), ...(command ? [command.trim()] : [])], { encoding: 'utf8' })
        .trimEnd()
        .split('\n')
        .map((l) => {
          const [ms, raw = ''] = l.split('\t');
          const decoded = raw === '' ? null : decodeLine(raw);
          if (decoded !== null && !decoded.ok) throw new Error(`the sketch wrote an undecodable line: ${raw}`);
          return { ms: Number(ms), raw, message: decoded?.message ?? null };
        });
    const longestSilence = (lines: Array<{ ms: number }>, untilMs: number): number => Math.max(...[...lines.map((l) => l.ms), untilMs].map((t, i, all) => t - (all[i - 1] ?? 0)));

    // Asked for a reading every 6 s: heartbeats fill the silences, none reaches the gateway's 5 s timeout.
    const slow = sketch(30, 21, 45, encodeMessage({ type: 'C', id: 1, name: 'interval', arg: 6000 }));
    expect(slow.some((l) => l.message?.type === 'A' && l.message.ok)).toBe(true);
    expect(slow.filter((l) => l.message?.type === 'R').length).toBeGreaterThanOrEqual(4);
    expect(slow.some((l) => l.message?.type === 'B')).toBe(true);
    expect(longestSilence(slow, 30_000)).toBeLessThanOrEqual(2100);

    // At -41 C (beyond the wire's -40) the humidity still goes out, with the temperature missing.
    const cold = sketch(5, -41, 45);
    const readings = cold.map((l) => l.message).filter((m): m is Extract<Message, { type: 'R' }> => m?.type === 'R');
    expect(readings.length).toBeGreaterThanOrEqual(4);
    expect(readings.every((r) => r.tempC === null && r.rh !== null && Math.abs(r.rh - 45) < 0.01)).toBe(true);
    expect(readings.map((r) => r.seq)).toEqual([...readings.keys()]);

    // The greeting follows an empty line, so a reset mid-line cannot glue it to the half-sent one.
    expect(cold[0]).toMatchObject({ ms: 0, raw: '', message: null });
    expect(cold[1]?.message?.type).toBe('H');
  });

  it.skipIf(gxx === null)('fails when a vector disagrees with the firmware (the check can fail)', () => {
    const tampered = structuredClone(vectors);
    const first = tampered.vectors[0];
    if (!first) throw new Error('no vectors');
    first.line = first.line.replace('47.31', '47.30');
    const { status, out } = run(build(vectorsHeader(tampered), 'protocol_test_tampered'));
    expect(out).toMatch(/FAIL reading, all fields: got \[.*47\.31/);
    expect(out).toContain(', 1 failed');
    expect(status).toBe(1);
  });
});
