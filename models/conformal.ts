/**
 * Split-conformal interval offsets: from held-out residuals r = y - yhat of one horizon, the
 * equal-tailed central interval at `level` is [yhat + q_lo, yhat + q_hi] with q_lo the
 * floor((n+1)(1-level)/2)-th and q_hi the ceil((n+1)(1+level)/2)-th smallest residual
 * (clamped to the sample), which gives coverage >= level on exchangeable data.
 */
export function conformalOffsets(residuals: number[], level: number): { lo: number; hi: number } {
  const n = residuals.length;
  if (n === 0) throw new RangeError('conformal: no residuals');
  const sorted = residuals.slice().sort((a, b) => a - b);
  const alpha = 1 - level;
  // The epsilon keeps 1 - 0.8 = 0.19999999999999996 from moving a rank by one.
  const kLo = Math.min(n, Math.max(1, Math.floor((n + 1) * (alpha / 2) + 1e-9)));
  const kHi = Math.min(n, Math.max(1, Math.ceil((n + 1) * (1 - alpha / 2) - 1e-9)));
  return { lo: sorted[kLo - 1] ?? 0, hi: sorted[kHi - 1] ?? 0 };
}
