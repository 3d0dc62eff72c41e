import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTool } from '../../test/prereq.ts';
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
