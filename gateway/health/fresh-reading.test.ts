import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import type { SourceEvents } from '../sources/source.ts';
import type { Reading } from '../types.ts';
import { FreshReadingCheck, MIN_STALE_AFTER_MS, staleAfterMsFor } from './fresh-reading.ts';

class FakeSource extends EventEmitter<SourceEvents> {
  constructor(readonly name: string) {
    super();
  }
}

const reading: Reading = { sensorId: 's1', bootId: 'b', seq: 1, uptimeMs: 1, wallTimeMs: 1, rh: 50, tempC: 20, quality: [] };

describe('staleAfterMsFor', () => {
  it('is 3 x the longest silence a healthy source allows, at least 10 s', () => {
    expect(staleAfterMsFor([])).toBe(MIN_STALE_AFTER_MS);
    expect(staleAfterMsFor([{ type: 'sim', sensors: ['a'], intervalMs: 1000, seed: 1 }])).toBe(10_000);
    expect(
      staleAfterMsFor([
        { type: 'sim', sensors: ['a'], intervalMs: 60_000, seed: 1 },
        { type: 'serial', path: '/dev/ttyUSB0', baudRate: 115200, dataTimeoutMs: 5000, commandTimeoutMs: 2000 },
      ]),
    ).toBe(180_000);
    expect(staleAfterMsFor([{ type: 'serial', path: '/dev/x', baudRate: 115200, dataTimeoutMs: 7000, commandTimeoutMs: 2000 }])).toBe(21_000);
    expect(staleAfterMsFor([{ type: 'i2c', bus: 1, driver: 'sht3x', sensorId: 'i2c-1', intervalMs: 20_000 }])).toBe(60_000);
  });
});

describe('FreshReadingCheck', () => {
  function setup(): { clock: ManualClock; check: FreshReadingCheck; source: FakeSource } {
    const clock = new ManualClock();
    const check = new FreshReadingCheck({ clock, staleAfterMs: 30_000 });
    const source = new FakeSource('serial:/dev/ttyUSB0');
    check.watch(source);
    return { clock, check, source };
  }

  it('gives a new source staleAfterMs for its first reading', () => {
    const { clock, check } = setup();
    clock.advance(30_000);
    expect(check.run()).toEqual({ ok: true, detail: 'serial:/dev/ttyUSB0: waiting for the first reading' });
    clock.advance(1);
    expect(check.run()).toMatchObject({ ok: false });
    expect(check.run().detail).toContain('serial:/dev/ttyUSB0: no reading 30001 ms after the link came up');
  });

  it('passes while readings flow and fails once they stop on an up link', () => {
    const { clock, check, source } = setup();
    source.emit('link', 'up', 'opened');
    clock.advance(25_000);
    source.emit('reading', reading);
    clock.advance(30_000);
    expect(check.run()).toEqual({ ok: true, detail: 'serial:/dev/ttyUSB0: last reading 30000 ms ago' });
    clock.advance(5_000);
    const result = check.run();
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('serial:/dev/ttyUSB0: no reading for 35000 ms while the link is up with no known fault (stale after 30000 ms)');
  });

  it('treats a link that is down with a known fault as healthy, through reconnect attempts', () => {
    const { clock, check, source } = setup();
    source.emit('link', 'down', 'ENOENT /dev/ttyUSB0');
    clock.advance(600_000);
    expect(check.run()).toEqual({ ok: true, detail: 'serial:/dev/ttyUSB0: link down (ENOENT /dev/ttyUSB0), retrying' });
    source.emit('link', 'connecting', 'retrying');
    clock.advance(600_000);
    expect(check.run()).toEqual({ ok: true, detail: 'serial:/dev/ttyUSB0: link connecting (ENOENT /dev/ttyUSB0), retrying' });
  });

  it('restarts the grace when the link comes back up, and fails if it then stays silent', () => {
    const { clock, check, source } = setup();
    source.emit('link', 'down', 'no data for 5000 ms');
    clock.advance(100_000);
    source.emit('link', 'up', 'data again');
    clock.advance(30_000);
    expect(check.run().ok).toBe(true);
    clock.advance(1);
    expect(check.run().ok).toBe(false);
  });

  it('does not let repeated "up" events postpone the verdict', () => {
    const { clock, check, source } = setup();
    source.emit('link', 'up', 'opened');
    clock.advance(20_000);
    source.emit('link', 'up', 'still open');
    clock.advance(10_001);
    expect(check.run().ok).toBe(false);
  });

  it('fails when any one of several sources is wedged, naming only that one', () => {
    const { clock, check, source } = setup();
    const sim = new FakeSource('sim:sim-1');
    check.watch(sim);
    source.emit('link', 'down', 'EACCES /dev/ttyUSB0');
    sim.emit('link', 'up', 'started');
    clock.advance(31_000);
    const result = check.run();
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^sim:sim-1: no reading 31000 ms after/);
    expect(result.detail).not.toContain('ttyUSB0');
  });

  it('stops following a source when detached', () => {
    const clock = new ManualClock();
    const check = new FreshReadingCheck({ clock });
    const source = new FakeSource('sim:sim-1');
    const detach = check.watch(source);
    detach();
    expect(source.listenerCount('reading')).toBe(0);
    expect(source.listenerCount('link')).toBe(0);
    clock.advance(3_600_000);
    expect(check.run()).toEqual({ ok: true, detail: 'no reading sources to watch' });
  });

  it('rejects a bad staleAfterMs by name', () => {
    expect(() => new FreshReadingCheck({ clock: new ManualClock(), staleAfterMs: -1 })).toThrow(/staleAfterMs must be an integer/);
  });
});
