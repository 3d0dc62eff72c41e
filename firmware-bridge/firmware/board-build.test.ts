import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireFile, requireTool } from '../../test/prereq.ts';

/**
 * The reference sketch built for a real board, an Arduino Uno (ATmega328P: 32 KiB flash, 0.5 KiB
 * of it the bootloader, 2 KiB RAM), with the Makefile beside it: Debian's arduino-mk,
 * arduino-core-avr and avr-gcc. firmware.test.ts runs the protocol code on the host; this shows
 * the whole sketch (Wire, Serial, the SHT3x reads) compiles for the board and fits it.
 */

const make = requireTool('make');
const avrGcc = requireTool('avr-gcc');
const avrSize = requireTool('avr-size');
const arduinoMk = requireFile('/usr/share/arduino/Arduino.mk', 'arduino-mk');
const here = import.meta.dirname;
/** Uno flash usable by a sketch (32,768 minus the 512-byte optiboot bootloader). */
const FLASH_BYTES = 32_256;
/** Static RAM the sketch may take: 2,048 minus 512 left to the stack (line buffers, Wire, ISRs). */
const STATIC_RAM_BYTES = 1536;

const out = mkdtempSync(join(tmpdir(), 'hygrocast-avr-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(!make || !avrGcc || !avrSize || !arduinoMk)('reference firmware built for an Arduino Uno', () => {
  it('compiles with no warning in its own sources and fits the board with room for the stack', () => {
    const r = spawnSync(make ?? 'make', ['-s', `OBJDIR=${out}`], { cwd: here, encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const own = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /(hygrocast_sht3x\.ino|protocol\.(cpp|h)):\d+/.test(l));
    expect(own).toEqual([]);

    const elf = readdirSync(out).find((f) => f.endsWith('.elf'));
    const hex = readdirSync(out).find((f) => f.endsWith('.hex'));
    expect(elf).toBeDefined();
    expect(hex).toBeDefined();
    const sections = new Map(
      execFileSync(avrSize ?? 'avr-size', ['-A', join(out, elf ?? '')], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length === 3 && /^\.\w+$/.test(f[0] ?? ''))
        .map((f) => [f[0], Number(f[1])]),
    );
    const text = sections.get('.text') ?? 0;
    const data = sections.get('.data') ?? 0;
    const bss = sections.get('.bss') ?? 0;
    expect(text).toBeGreaterThan(1000); // a real program, not an empty image
    expect(text + data).toBeLessThanOrEqual(FLASH_BYTES);
    expect(data + bss).toBeLessThanOrEqual(STATIC_RAM_BYTES);

    // The image a bootloader takes: Intel HEX records, each with a valid checksum, ending in EOF.
    const records = readFileSync(join(out, hex ?? ''), 'utf8').trim().split(/\r?\n/);
    for (const rec of records) {
      expect(rec).toMatch(/^:[0-9A-F]{10,}$/);
      const bytes = Buffer.from(rec.slice(1), 'hex');
      expect(bytes.reduce((s, b) => (s + b) & 0xff, 0)).toBe(0);
    }
    expect(records[records.length - 1]).toBe(':00000001FF');
    const payload = records.reduce((s, rec) => s + (rec.slice(7, 9) === '00' ? parseInt(rec.slice(1, 3), 16) : 0), 0);
    expect(payload).toBe(text + data);
  }, 120_000);
});
