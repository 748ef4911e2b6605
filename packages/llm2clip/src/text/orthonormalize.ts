import type { Rng } from '@mmesid/tensor';

/**
 * Orthonormalises the l columns of a dense row-major [n, l] matrix in place (modified Gram-Schmidt run
 * twice per column, which keeps orthogonality at machine precision). A column that is (numerically) in
 * the span of the previous ones is replaced by a random direction orthogonal to them, so the result
 * always has l orthonormal columns. float64 throughout.
 */
export function orthonormalizeColumns(y: Float64Array, n: number, l: number, rng: Rng): void {
  // Work column-major: each column contiguous.
  const q = new Float64Array(n * l);
  for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) q[j * n + i] = y[i * l + j]!;
  for (let j = 0; j < l; j++) {
    const cj = j * n;
    let before = 0;
    for (let i = 0; i < n; i++) before += q[cj + i]! ** 2;
    for (let attempt = 0; ; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          const ck = k * n;
          let dot = 0;
          for (let i = 0; i < n; i++) dot += q[ck + i]! * q[cj + i]!;
          for (let i = 0; i < n; i++) q[cj + i] = q[cj + i]! - dot * q[ck + i]!;
        }
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += q[cj + i]! ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-10 * Math.max(1, Math.sqrt(before)) && norm > 1e-300) {
        for (let i = 0; i < n; i++) q[cj + i] = q[cj + i]! / norm;
        break;
      }
      if (attempt > 5 || j >= n)
        throw new RangeError(`orthonormalizeColumns: cannot find ${l} orthonormal columns in R^${n}`);
      for (let i = 0; i < n; i++) q[cj + i] = rng.normal();
      before = n;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) y[i * l + j] = q[j * n + i]!;
}
