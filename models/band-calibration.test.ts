import { describe, expect, it } from 'vitest';
import { BandCalibrator } from './band-calibration.ts';
import type { Band } from './band-calibration.ts';
import { mulberry32 } from './random.ts';

const LEVEL = 0.8;
const TAIL = 0.1;

/** Standard normal draws (Box-Muller on the seeded generator). */
function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

interface Run {
  /** Per step: was the truth above the issued upper / below the issued lower bound. */
  above: boolean[];
  below: boolean[];
}

/**
 * Issues a band (point 50, the model's own half-width `halfWidth(i)`) at each step, calibrated,
 * and scores it against `truth(i)` `delay` steps later, before that step's band is issued, as
 * the gateway does with a horizon `delay` steps ahead.
 */
function run(cal: BandCalibrator, steps: number, halfWidth: (i: number) => number, truth: (i: number) => number, delay = 1): Run {
  const horizonS = delay * cal.stepS;
  const issued: Band[] = [];
  const out: Run = { above: [], below: [] };
  const score = (j: number): void => {
    const b = issued[j]!;
    const t = truth(j);
    out.above.push(t > b.upper);
    out.below.push(t < b.lower);
    cal.observe('s', horizonS, b, t);
  };
  for (let i = 0; i < steps; i++) {
    if (i - delay >= 0) score(i - delay);
    const w = halfWidth(i);
    const [p] = cal.calibrate('s', LEVEL, [{ horizonS, rh: 50, lower: 50 - w, upper: 50 + w }]);
    issued.push(p!);
  }
  for (let j = Math.max(0, steps - delay); j < steps; j++) score(j);
  return out;
}

const rate = (xs: boolean[]): number => xs.filter(Boolean).length / xs.length;

describe('BandCalibrator', () => {
  it('widens a band that is too narrow until each half is missed 10% of the time', () => {
    // Truth ~ N(50, 2); the model claims an 80% band of +-1 (it covers about 38%).
    const z = gaussian(1);
    const truths = Array.from({ length: 20_000 }, () => 50 + 2 * z());
    const cal = new BandCalibrator({ stepS: 600, rate: 0.02 }); // a small rate: the factor settles close to its target
    const r = run(cal, truths.length, () => 1, (i) => truths[i]!);
    const late = (xs: boolean[]): boolean[] => xs.slice(10_000);
    expect(rate(late(r.above))).toBeGreaterThan(0.08);
    expect(rate(late(r.above))).toBeLessThan(0.12);
    expect(rate(late(r.below))).toBeGreaterThan(0.08);
    expect(rate(late(r.below))).toBeLessThan(0.12);
    // The 90th percentile of N(50, 2) is 50 + 2.563: the factor on a half-width of 1.
    const s = cal.scale('s', 600)!;
    expect(s.upper).toBeGreaterThan(2.563 * 0.85);
    expect(s.upper).toBeLessThan(2.563 * 1.15);
    expect(s.lower).toBeGreaterThan(2.563 * 0.85);
    expect(s.lower).toBeLessThan(2.563 * 1.15);
    expect(s.updates).toBe(20_000);
  });

  it('narrows a band that is too wide, and leaves a calibrated one near its own width', () => {
    const z = gaussian(2);
    const truths = Array.from({ length: 20_000 }, () => 50 + z());
    const wide = new BandCalibrator({ stepS: 600 });
    run(wide, truths.length, () => 5, (i) => truths[i]!);
    expect(wide.scale('s', 600)!.upper).toBeLessThan(1.2816 / 5 * 1.15);
    const right = new BandCalibrator({ stepS: 600 });
    run(right, truths.length, () => 1.2816, (i) => truths[i]!);
    expect(right.scale('s', 600)!.upper).toBeGreaterThan(0.85);
    expect(right.scale('s', 600)!.upper).toBeLessThan(1.15);
  });

  it('each half follows its own side: a biased model gets a wider upper and a narrower lower half', () => {
    const z = gaussian(3);
    const truths = Array.from({ length: 20_000 }, () => 52 + z()); // the model's point (50) is 2 %RH low
    const cal = new BandCalibrator({ stepS: 600 });
    run(cal, truths.length, () => 1.2816, (i) => truths[i]!);
    const s = cal.scale('s', 600)!;
    expect(s.upper).toBeGreaterThan(2);
    expect(s.lower).toBeLessThan(0.5);
  });

  it('holds the miss rate of each half to within |log factor| / (rate_h * N) of 10%, delayed feedback and a regime change included', () => {
    // A calm regime the band is too wide for, then a wild one it is far too narrow for, scored
    // 36 steps late (a 6 h horizon at 10-minute steps): the telescoping bound holds anyway.
    const z = gaussian(4);
    const N = 12_000;
    const truths = Array.from({ length: N }, (_, i) => 50 + (i < N / 2 ? 0.5 : 6) * z());
    const cal = new BandCalibrator({ stepS: 600, rate: 0.12, maxScale: 100 });
    const rateH = cal.rateAt(21_600);
    expect(rateH).toBeCloseTo(0.12 / 6, 12);
    const r = run(cal, N, () => 2, (i) => truths[i]!, 36);
    const s = cal.scale('s', 21_600)!;
    expect(s.updates).toBe(N);
    for (const [misses, factor] of [[r.above, s.upper], [r.below, s.lower]] as const) {
      const bound = Math.abs(Math.log(factor)) / (rateH * N);
      expect(Math.abs(rate(misses) - TAIL)).toBeLessThanOrEqual(bound + 1e-12);
      expect(bound).toBeLessThan(0.02);
    }
  });

  it('keeps the factor within [1 / maxScale, maxScale] and the band within 0..100 %RH', () => {
    const cal = new BandCalibrator({ stepS: 600, rate: 0.5, maxScale: 4 });
    const band = { horizonS: 600, rh: 90, lower: 89, upper: 91 };
    for (let i = 0; i < 200; i++) {
      const [b] = cal.calibrate('s', LEVEL, [band]);
      cal.observe('s', 600, b!, 0); // always below: the lower half widens
    }
    expect(cal.scale('s', 600)!.lower).toBeCloseTo(4, 10);
    expect(cal.scale('s', 600)!.upper).toBeCloseTo(0.25, 10);
    const [wide] = new BandCalibrator({ stepS: 600, maxScale: 100 }).calibrate('t', LEVEL, [{ horizonS: 600, rh: 99, lower: 90, upper: 100 }]);
    expect(wide).toEqual({ horizonS: 600, rh: 99, lower: 90, upper: 100 });
    cal.load([{ stream: 'u', horizonS: 600, level: LEVEL, logLower: 0, logUpper: Math.log(50), updates: 1 }]);
    const [clamped] = cal.calibrate('u', LEVEL, [{ horizonS: 600, rh: 95, lower: 94, upper: 96 }]);
    expect(clamped!.upper).toBe(99); // loaded factor 50 clamped to 4: 95 + 4 * 1
  });

  it('ignores outcomes of streams and horizons it never calibrated, keeps streams apart, and forgets one', () => {
    const cal = new BandCalibrator({ stepS: 600 });
    expect(cal.observe('s', 600, { rh: 50, lower: 49, upper: 51 }, 70)).toBeNull();
    expect(cal.scale('s', 600)).toBeNull();
    cal.calibrate('s', LEVEL, [{ horizonS: 600, rh: 50, lower: 49, upper: 51 }]);
    cal.calibrate('t', LEVEL, [{ horizonS: 600, rh: 50, lower: 49, upper: 51 }]);
    expect(cal.observe('s', 1200, { rh: 50, lower: 49, upper: 51 }, 70)).toBeNull();
    const s = cal.observe('s', 600, { rh: 50, lower: 49, upper: 51 }, 70)!;
    expect(s.logUpper).toBeCloseTo(0.05 * 0.9, 12);
    expect(s.logLower).toBeCloseTo(-0.05 * 0.1, 12);
    expect(cal.scale('t', 600)).toEqual({ lower: 1, upper: 1, updates: 0 });
    cal.forget('s');
    expect(cal.scale('s', 600)).toBeNull();
    expect(cal.scale('t', 600)).not.toBeNull();
  });

  it('refuses a rate or maxScale it cannot use', () => {
    expect(() => new BandCalibrator({ stepS: 600, rate: 0 })).toThrow(/rate must be in \(0, 1\], got 0/);
    expect(() => new BandCalibrator({ stepS: 600, maxScale: 0.5 })).toThrow(/maxScale must be at least 1, got 0.5/);
    expect(() => new BandCalibrator({ stepS: 0 })).toThrow(/stepS must be positive, got 0/);
  });
});
