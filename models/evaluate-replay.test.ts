import { describe, expect, it } from 'vitest';
import { BandCalibrator } from './band-calibration.ts';
import { replayCalibration } from './evaluate.ts';

describe('eval replay of the online band calibration', () => {
  it('calibrates each row only with truths whose target step had ended by its base step', () => {
    // One horizon of 3 steps; rows at steps 0..19 except a gap at 10-12; every truth is above the band.
    const anchors = Array.from({ length: 20 }, (_, i) => i).filter((i) => i < 10 || i > 12);
    const n = anchors.length;
    const input = {
      anchors,
      horizonSteps: [3],
      horizonsS: [1800],
      y: Float64Array.from({ length: n }, () => 60),
      model: Float32Array.from({ length: n }, () => 50),
      lower: Float32Array.from({ length: n }, () => 49),
      upper: Float32Array.from({ length: n }, () => 51),
    };
    const cal = new BandCalibrator({ stepS: 1800, rate: 0.1 }) // one-step horizon: the full rate;
    const out = replayCalibration(cal, 0.8, input);
    anchors.forEach((a, r) => {
      // Rows q with anchors[q] + 3 <= a have been scored, each a miss above: +0.1 * 0.9 in log.
      const known = anchors.filter((b) => b + 3 <= a).length;
      expect(out.upper[r]).toBeCloseTo(50 + Math.exp(0.09 * known), 5);
      expect(out.lower[r]).toBeCloseTo(50 - Math.exp(-0.01 * known), 5);
    });
    // Rows whose target lies past the last base are never scored.
    expect(cal.scale('eval', 1800)!.updates).toBe(anchors.filter((b) => b + 3 <= anchors[n - 1]!).length);
  });
});
