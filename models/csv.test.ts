import { describe, expect, it } from 'vitest';
import { parseCsvColumn, parseTimestamp } from './csv.ts';

describe('CSV reading', () => {
  it('parses naive local timestamps as written, and empty cells as missing', () => {
    const s = parseCsvColumn('timestamp,RH_1,T1\n2016-01-11T17:00:00,47.5,20\n2016-01-11 17:10,,20\n\n2016-01-11T17:20:00.250,46,20\n', 'RH_1');
    expect(s.timesMs).toEqual([Date.UTC(2016, 0, 11, 17, 0), Date.UTC(2016, 0, 11, 17, 10), Date.UTC(2016, 0, 11, 17, 20, 0, 250)]);
    expect(s.values).toEqual([47.5, null, 46]);
  });

  it('names what is wrong', () => {
    expect(() => parseCsvColumn('time,RH_1\n', 'RH_1', 'a.csv')).toThrow('a.csv: no "timestamp" column');
    expect(() => parseCsvColumn('timestamp,RH_1\n', 'RH_9', 'a.csv')).toThrow('a.csv: no column "RH_9" (columns: RH_1)');
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00+25:00,1\n', 'RH_1', 'a.csv')).toThrow(/a.csv line 2: timestamp "2016-01-11T17:00:00\+25:00" is not ISO 8601/);
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00Z,1\n2016-01-11T18:00:00,1\n', 'RH_1', 'a.csv')).toThrow('a.csv line 3: timestamp "2016-01-11T18:00:00" has no zone, unlike the first row');
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00Z,1\n', 'RH_1', 'a.csv', { timeZone: 'Mars/Olympus' })).toThrow('time zone "Mars/Olympus" is not an IANA time zone');
    expect(() => parseCsvColumn('timestamp,RH_1\n"2016-01-11T17:00:00,1\n', 'RH_1', 'a.csv')).toThrow(/a.csv: not a readable CSV/);
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00,abc\n', 'RH_1', 'a.csv')).toThrow('a.csv line 2: RH_1 = "abc" is not a number');
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00,1\n2016-01-11T17:00:00,1\n', 'RH_1', 'a.csv')).toThrow(/line 3: .* is not after the previous row/);
    expect(() => parseCsvColumn('timestamp,RH_1\n', 'RH_1', 'a.csv')).toThrow('a.csv: no data rows');
  });

  it('turns zoned timestamps into the local time of day of the chosen zone', () => {
    // 2016-10-30: Brussels goes from +02:00 back to +01:00 at 01:00 UTC, so 02:00..02:59 local happens twice.
    const text = ['timestamp,RH_1', '2016-10-29T23:30:00Z,50', '2016-10-30T00:30:00Z,51', '2016-10-30T01:30:00Z,52', '2016-10-30T03:30+01:00,53', '2016-10-30T04:30:00+0100,54'].join('\n');
    const s = parseCsvColumn(text, 'RH_1', 'a.csv', { timeZone: 'Europe/Brussels' });
    expect(s.timesMs).toEqual([Date.UTC(2016, 9, 30, 1, 30), Date.UTC(2016, 9, 30, 2, 30), Date.UTC(2016, 9, 30, 3, 30), Date.UTC(2016, 9, 30, 4, 30)]);
    expect(s.values).toEqual([50, 51, 53, 54]);
    expect(s.rejected).toEqual({ outOfRange: 0, flagged: 0, repeatedLocalTime: 1 });
    // In UTC the same instants keep their UTC fields and nothing repeats.
    const utc = parseCsvColumn(text, 'RH_1', 'a.csv', { timeZone: 'UTC' });
    expect(utc.timesMs).toEqual([Date.UTC(2016, 9, 29, 23, 30), Date.UTC(2016, 9, 30, 0, 30), Date.UTC(2016, 9, 30, 1, 30), Date.UTC(2016, 9, 30, 2, 30), Date.UTC(2016, 9, 30, 3, 30)]);
    expect(utc.rejected).toBeUndefined();
  });

  it('rejects readings outside 0..100 %RH and readings flagged faulty, counting them', () => {
    const text = ['timestamp,rh,quality', '2016-01-11T17:00:00,40,', '2016-01-11T17:10:00,150,', '2016-01-11T17:20:00,-1,', '"2016-01-11T17:30:00",41,"stale,spike"', '2016-01-11T17:40:00,42,stale', '2016-01-11T17:50:00,100,'].join('\r\n');
    const s = parseCsvColumn(text, 'rh');
    expect(s.values).toEqual([40, null, null, null, 42, 100]);
    expect(s.rejected).toEqual({ outOfRange: 2, flagged: 1, repeatedLocalTime: 0 });
  });

  it('rejects calendar-invalid times', () => {
    expect(parseTimestamp('2016-02-30T00:00:00')).toBeNull();
    expect(parseTimestamp('2016-02-29T24:00:00')).toBeNull();
    expect(parseTimestamp('2016-02-29T23:59:59')).toEqual({ naiveMs: Date.UTC(2016, 1, 29, 23, 59, 59), offsetMin: null });
    expect(parseTimestamp('2016-02-29T23:59:59-05:30')).toEqual({ naiveMs: Date.UTC(2016, 1, 29, 23, 59, 59), offsetMin: -330 });
  });
});
