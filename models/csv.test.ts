import { describe, expect, it } from 'vitest';
import { parseCsvColumn, parseNaiveTimestamp } from './csv.ts';

describe('CSV reading', () => {
  it('parses naive local timestamps as written, and empty cells as missing', () => {
    const s = parseCsvColumn('timestamp,RH_1,T1\n2016-01-11T17:00:00,47.5,20\n2016-01-11 17:10,,20\n\n2016-01-11T17:20:00.250,46,20\n', 'RH_1');
    expect(s.timesMs).toEqual([Date.UTC(2016, 0, 11, 17, 0), Date.UTC(2016, 0, 11, 17, 10), Date.UTC(2016, 0, 11, 17, 20, 0, 250)]);
    expect(s.values).toEqual([47.5, null, 46]);
  });

  it('names what is wrong', () => {
    expect(() => parseCsvColumn('time,RH_1\n', 'RH_1', 'a.csv')).toThrow('a.csv: no "timestamp" column');
    expect(() => parseCsvColumn('timestamp,RH_1\n', 'RH_9', 'a.csv')).toThrow('a.csv: no column "RH_9" (columns: RH_1)');
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00Z,1\n', 'RH_1', 'a.csv')).toThrow(/a.csv line 2: timestamp "2016-01-11T17:00:00Z" is not/);
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00,abc\n', 'RH_1', 'a.csv')).toThrow('a.csv line 2: RH_1 = "abc" is not a number');
    expect(() => parseCsvColumn('timestamp,RH_1\n2016-01-11T17:00:00,1\n2016-01-11T17:00:00,1\n', 'RH_1', 'a.csv')).toThrow(/line 3: .* is not after the previous row/);
    expect(() => parseCsvColumn('timestamp,RH_1\n', 'RH_1', 'a.csv')).toThrow('a.csv: no data rows');
  });

  it('rejects calendar-invalid times', () => {
    expect(parseNaiveTimestamp('2016-02-30T00:00:00')).toBeNull();
    expect(parseNaiveTimestamp('2016-02-29T24:00:00')).toBeNull();
    expect(parseNaiveTimestamp('2016-02-29T23:59:59')).toBe(Date.UTC(2016, 1, 29, 23, 59, 59));
  });
});
