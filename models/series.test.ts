import { describe, expect, it } from 'vitest';
import { buildSamples, lastSteps } from './series.ts';
import type { StepSeries } from './series.ts';

describe('samples', () => {
  const series: StepSeries = { stepMs: 600_000, startMs: 0, raw: [10, 11, 12, 13, 14, 15, 16], filled: [10, 11, 12, 13, 14, 15, 16] };

  it('lastSteps keeps the newest steps of each window and the time features, on the same rows', () => {
    const wide = buildSamples(series, { windowSteps: 4, horizonSteps: [1], mode: 'level', fromAnchor: 0, targetLimit: 7 });
    expect(wide.anchors).toEqual([3, 4, 5]);
    const narrow = lastSteps(wide, 4, 2);
    expect(narrow.p).toBe(4);
    const row = (r: number) => Array.from(narrow.x.subarray(r * 4, r * 4 + 4));
    expect(row(0).slice(0, 2)).toEqual([12, 13]);
    expect(row(2).slice(0, 2)).toEqual([14, 15]);
    expect(row(1).slice(2)).toEqual(Array.from(wide.x.subarray(1 * 6 + 4, 1 * 6 + 6)));
    expect(narrow.anchors).toEqual(wide.anchors);
    expect(Array.from(narrow.y)).toEqual([14, 15, 16]);
    expect(lastSteps(wide, 4, 4)).toBe(wide);
    expect(() => lastSteps(wide, 4, 5)).toThrow(RangeError);
  });
});
