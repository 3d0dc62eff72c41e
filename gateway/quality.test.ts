import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReplayCsv } from '../device-sim/replay-data.ts';
import { ManualClock } from './clock.ts';
import { QualityChecker } from './quality.ts';
import type { Reading } from './types.ts';

const dataDir = path.resolve(import.meta.dirname, '../../shared/data');
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function setWall(clock: ManualClock, wallMs: number): void {
  clock.jumpWall(wallMs - clock.now());
}

function reading(over: Partial<Reading> = {}): Reading {
  return { sensorId: 's1', bootId: 'B', seq: 0, uptimeMs: 0, wallTimeMs: T0, rh: 50, tempC: 20, quality: [], ...over };
}

/** A checker with a 30-minute stuck window; at(m, rh) assesses a reading taken m minutes after T0. */
function stuckChecker(): (m: number, rh: number) => string[] {
  const clock = new ManualClock(T0);
  const q = new QualityChecker({ clock, stuckWindowMs: 30 * MIN });
  return (m, rh) => {
    setWall(clock, T0 + m * MIN);
    return q.assess(reading({ rh, wallTimeMs: T0 + m * MIN })).quality;
  };
}

describe('QualityChecker', () => {
  it('flags values outside the physical ranges and keeps firmware flags', () => {
    const q = new QualityChecker({ clock: new ManualClock(T0) });
    expect(q.assess(reading({ rh: 100.5 })).quality).toEqual(['out_of_range']);
    expect(q.assess(reading({ sensorId: 's2', tempC: -41 })).quality).toEqual(['out_of_range']);
    expect(q.assess(reading({ sensorId: 's3', rh: null, tempC: null, quality: ['sensor_error'] })).quality).toEqual(['sensor_error']);
    const good = reading({ sensorId: 's4' });
    expect(q.assess(good)).toBe(good); // nothing to add: the same object, unmodified
  });

  it('flags a jump above the spike threshold from the last good reading, both ways, and not the good reading after a spike', () => {
    const q = new QualityChecker({ clock: new ManualClock(T0), spikeThresholdRh: 10 });
    const flags = [50, 59.99, 70.1, 59.9, 45, 60].map((rh, i) => q.assess(reading({ rh, seq: i })).quality);
    expect(flags).toEqual([[], [], ['spike'], [], ['spike'], []]);
  });

  it('flags every reading of a spike that lasts several readings, and accepts a level change once readings agree', () => {
    const q = new QualityChecker({ clock: new ManualClock(T0), spikeThresholdRh: 10 });
    const flags = (values: number[]): string[][] => values.map((rh, i) => q.assess(reading({ rh, seq: i })).quality);
    // A two-reading glitch: both flagged, the return to 50 is good.
    expect(flags([50, 50.1, 95, 95.2, 50.1])).toEqual([[], [], ['spike'], ['spike'], []]);
    // A real jump (a sensor moved outdoors): flagged until SPIKE_CONFIRM_READINGS agree, then the new level.
    expect(flags([80, 80.3, 80.1, 80.2])).toEqual([['spike'], ['spike'], [], []]);
  });

  it('flags stuck only once the same value has lasted longer than the window', () => {
    const at = stuckChecker();
    expect([0, 10, 20, 30].map((m) => at(m, 42.42))).toEqual([[], [], [], []]);
    expect(at(31, 42.42)).toEqual(['stuck']);
    expect(at(40, 42.43)).toEqual([]); // it moved: a new run starts
    expect([50, 60, 70].map((m) => at(m, 42.43))).toEqual([[], [], []]);
    expect(at(71, 42.43)).toEqual(['stuck']);
  });

  it('does not take two equal readings of a slow sensor in a stable room for a stuck one', () => {
    const at = stuckChecker();
    // One reading every 31 min at 0.1 %RH resolution: repeats are normal.
    expect([0, 31, 62].map((m) => at(m, 45.3))).toEqual([[], [], []]);
    // The fourth identical reading in 93 min: that is a stuck sensor.
    expect(at(93, 45.3)).toEqual(['stuck']);
  });

  it('flags stale readings: old timestamps, and the first reading of each sensor after a link gap', () => {
    const clock = new ManualClock(T0 + 10 * MIN);
    const q = new QualityChecker({ clock, staleAfterMs: 60_000 });
    expect(q.assess(reading({ wallTimeMs: T0 + 10 * MIN - 61_000 })).quality).toEqual(['stale']);
    expect(q.assess(reading({ wallTimeMs: T0 + 10 * MIN - 59_000 })).quality).toEqual([]);
    q.noteLinkGap(['s1', 'other']);
    const now = T0 + 10 * MIN;
    expect(q.assess(reading({ wallTimeMs: now })).quality).toEqual(['stale']);
    expect(q.assess(reading({ wallTimeMs: now })).quality).toEqual([]);
    expect(q.assess(reading({ sensorId: 'other', wallTimeMs: now })).quality).toEqual(['stale']);
  });

  it('keeps at most maxSensors sensors, forgetting the least recently seen', () => {
    const q = new QualityChecker({ clock: new ManualClock(T0), maxSensors: 2, spikeThresholdRh: 10 });
    q.assess(reading({ sensorId: 'a', rh: 10 }));
    q.assess(reading({ sensorId: 'b', rh: 10 }));
    q.assess(reading({ sensorId: 'a', rh: 10 })); // a is now the most recent
    q.assess(reading({ sensorId: 'c', rh: 10 })); // evicts b
    expect(q.assess(reading({ sensorId: 'a', rh: 90 })).quality).toEqual(['spike']); // a remembered
    expect(q.assess(reading({ sensorId: 'b', rh: 90 })).quality).toEqual([]); // b forgotten: a first reading
  });

  it('refuses a non-positive option with a code', () => {
    expect(() => new QualityChecker({ stuckWindowMs: 0 })).toThrow(expect.objectContaining({ code: 'EINVALID_OPTION' }));
  });

  it('catches the real stuck outdoor sensor: RH_6 at exactly 1.0 on 2016-04-09', () => {
    const rows = parseReplayCsv(readFileSync(path.join(dataDir, 'appliances_rh_10min.train.csv'), 'utf8'), { column: 'RH_6' });
    const day = rows.filter((r) => new Date(r.timeMs).toISOString().startsWith('2016-04-09'));
    expect(day).toHaveLength(144);
    const clock = new ManualClock(day[0]?.timeMs ?? 0);
    const q = new QualityChecker({ clock });
    const stuck: string[] = [];
    day.forEach((row, seq) => {
      setWall(clock, row.timeMs);
      const flags = q.assess(reading({ sensorId: 'RH_6', seq, wallTimeMs: row.timeMs, rh: row.rh, tempC: null })).quality;
      if (flags.includes('stuck')) stuck.push(`${new Date(row.timeMs).toISOString().slice(11, 16)}=${row.rh}`);
    });
    // The file reads 1 from 14:30 to 15:10 and again from 15:40 to 16:20 (10-minute rows): each
    // run outlasts the 30-minute window at its fifth row, 40 minutes in. Nothing else that day is stuck.
    expect(stuck).toEqual(['15:10=1', '16:20=1']);
  });
});
