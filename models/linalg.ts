/** Dense linear algebra for the closed-form ridge fit: row-major Float64Array matrices. */

/**
 * Solves A X = B for symmetric positive definite A (p x p) and B (p x m) by Cholesky
 * decomposition. Returns X (p x m). Throws a RangeError when A is not positive definite.
 */
export function choleskySolve(a: Float64Array, p: number, b: Float64Array, m: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j] ?? 0;
      for (let k = 0; k < j; k++) s -= (l[i * p + k] ?? 0) * (l[j * p + k] ?? 0);
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`matrix is not positive definite (pivot ${i} = ${s})`);
        l[i * p + i] = Math.sqrt(s);
      } else {
        l[i * p + j] = s / (l[j * p + j] ?? 1);
      }
    }
  }
  const x = new Float64Array(p * m);
  for (let c = 0; c < m; c++) {
    // Forward substitution L z = b, then back substitution L' x = z, column by column.
    const z = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let s = b[i * m + c] ?? 0;
      for (let k = 0; k < i; k++) s -= (l[i * p + k] ?? 0) * (z[k] ?? 0);
      z[i] = s / (l[i * p + i] ?? 1);
    }
    for (let i = p - 1; i >= 0; i--) {
      let s = z[i] ?? 0;
      for (let k = i + 1; k < p; k++) s -= (l[k * p + i] ?? 0) * (x[k * m + c] ?? 0);
      x[i * m + c] = s / (l[i * p + i] ?? 1);
    }
  }
  return x;
}
