import { describe, expect, it } from 'vitest';
import { assembleWindow, bucketMeans, interpolateGaps } from './resample.ts';

const STEP = 600_000;
const T0 = 1_700_000_400_000; // a multiple of 600 s

describe('bucketMeans', () => {
  it('averages readings per aligned step and excludes faulty ones', () => {
    const points = [
      { tMs: T0 + 1_000, rh: 40 },
      { tMs: T0 + 599_999, rh: 42 },
      { tMs: T0 + 300_000, rh: 99, faulty: true },
      { tMs: T0 + STEP, rh: 50 }, // first instant of the second bucket
      { tMs: T0 - 1, rh: 10 }, // before the range
      { tMs: T0 + 3 * STEP, rh: 70 }, // after the range
    ];
    expect(bucketMeans(points, { stepMs: STEP, startMs: T0, steps: 3 })).toEqual([41, 50, null]);
  });

  it('leaves a bucket with only faulty readings empty', () => {
    expect(bucketMeans([{ tMs: T0, rh: 5, faulty: true }], { stepMs: STEP, startMs: T0, steps: 1 })).toEqual([null]);
  });
});

describe('interpolateGaps', () => {
  it('fills interior gaps up to the limit linearly and leaves longer gaps and the ends', () => {
    const r = interpolateGaps([null, 10, null, null, 16, null, null, null, null, 0, null], 3);
    expect(r.values).toEqual([null, 10, 12, 14, 16, null, null, null, null, 0, null]);
    expect(r.filled).toBe(2);
    expect(r.longestUnfilled).toBe(4);
    expect(r.longestUnfilledAt).toBe(5);
  });

  it('fills a gap of exactly max steps', () => {
    expect(interpolateGaps([0, null, null, null, 8], 3).values).toEqual([0, 2, 4, 6, 8]);
    expect(interpolateGaps([0, null, null, null, 8], 2).values).toEqual([0, null, null, null, 8]);
  });
});

describe('assembleWindow', () => {
  const req = { stepS: 600, windowSteps: 6, maxFillSteps: 2, lastStepStartMs: T0 + 5 * STEP };
  const at = (step: number, rh: number) => ({ tMs: T0 + step * STEP + 1000, rh });

  it('uses completed steps only, left-pads a short history and counts the padding', () => {
    const r = assembleWindow([at(3, 30), at(4, 40), at(5, 50), at(6, 99)], req);
    expect(r).toEqual({ ok: true, values: [30, 30, 30, 30, 40, 50], padded: 3, filled: 0, droppedBeforeGap: 0 });
  });

  it('interpolates toward the step in progress when the last completed step is empty', () => {
    const r = assembleWindow([at(0, 10), at(1, 10), at(2, 10), at(3, 10), at(4, 40), at(6, 60)], req);
    expect(r).toEqual({ ok: true, values: [10, 10, 10, 10, 40, 50], padded: 0, filled: 1, droppedBeforeGap: 0 });
  });

  it('holds the newest step for a short trailing gap', () => {
    const r = assembleWindow([at(0, 10), at(1, 11), at(2, 12), at(3, 13)], req);
    expect(r).toEqual({ ok: true, values: [10, 11, 12, 13, 13, 13], padded: 0, filled: 2, droppedBeforeGap: 0 });
  });

  it('drops the history before an interior gap longer than maxFillSteps and left-pads as in warm-up', () => {
    const r = assembleWindow([at(0, 10), at(4, 40), at(5, 50)], req);
    expect(r).toEqual({ ok: true, values: [40, 40, 40, 40, 40, 50], padded: 4, filled: 0, droppedBeforeGap: 1 });
    // Only the last long gap counts; short gaps after it are still interpolated.
    const two = assembleWindow([at(0, 5), at(1, 10), at(4, 20), at(6, 99)], { ...req, lastStepStartMs: T0 + 6 * STEP, maxFillSteps: 1 });
    expect(two).toEqual({ ok: true, values: [20, 20, 20, 20, 59.5, 99], padded: 3, filled: 1, droppedBeforeGap: 1 });
  });

  it('refuses a long trailing gap and an empty window', () => {
    expect(assembleWindow([at(0, 10), at(1, 10), at(2, 10)], req)).toMatchObject({ ok: false, reason: 'too_many_gaps' });
    expect(assembleWindow([at(-3, 10)], req)).toMatchObject({ ok: false, reason: 'no_history' });
  });
});
