import { describe, expect, it } from 'vitest';
import { NaiveClock } from '../models/time-zone.ts';
import { toCsv, trainable } from './retrain.ts';

/** What central retraining learns from: a sensor's stored readings as the trainer's series. */
describe('retraining data', () => {
  const at = (iso: string): number => Date.parse(iso);

  it('learns the local time of day of the configured zone, in time order, without the repeated hour', () => {
    // Brussels goes back from +02:00 to +01:00 at 2016-10-30T01:00Z: 02:30 local happens twice.
    const readings = [
      { wallTimeMs: at('2016-10-30T01:30:00Z'), rh: 52, quality: [] },
      { wallTimeMs: at('2016-10-29T23:30:00Z'), rh: 50, quality: [] },
      { wallTimeMs: at('2016-10-30T00:30:00Z'), rh: 51, quality: [] },
      { wallTimeMs: at('2016-10-30T02:30:00Z'), rh: 53, quality: [] },
    ];
    const csv = toCsv(readings, 'central:g/s', new NaiveClock('Europe/Brussels'));
    expect(csv.timesMs).toEqual([Date.UTC(2016, 9, 30, 1, 30), Date.UTC(2016, 9, 30, 2, 30), Date.UTC(2016, 9, 30, 3, 30)]);
    expect(csv.values).toEqual([50, 51, 53]);
    expect(toCsv(readings, 'central:g/s', new NaiveClock('UTC')).timesMs).toEqual([at('2016-10-29T23:30:00Z'), at('2016-10-30T00:30:00Z'), at('2016-10-30T01:30:00Z'), at('2016-10-30T02:30:00Z')]);
  });

  it('leaves out readings without RH and readings flagged faulty', () => {
    const r = (rh: number | null, ...quality: string[]) => ({ wallTimeMs: 0, rh, quality: quality as never[] });
    expect([r(40), r(null, 'sensor_error'), r(40, 'stuck'), r(40, 'spike'), r(40, 'out_of_range'), r(40, 'stale')].map(trainable)).toEqual([true, false, false, false, false, true]);
  });

  it('refuses a zone that does not exist', () => {
    expect(() => new NaiveClock('Europe/Atlantis')).toThrow(expect.objectContaining({ code: 'DATA_INVALID' }));
  });
});
