import { MmesidError, ShapeError } from '../errors.js';

/** Eigenvalues (ascending) and, as the columns of a row-major n x n matrix, orthonormal eigenvectors. */
export interface SymmetricEigen {
  readonly values: Float64Array;
  /** `vectors[i * n + j]` is component i of the eigenvector of `values[j]`. */
  readonly vectors: Float64Array;
}

/**
 * All eigenvalues of a real symmetric n x n matrix (row-major float64; only the upper triangle is
 * read), ascending, in float64: Householder reduction to tridiagonal form, then the implicit QL
 * algorithm with Wilkinson-type shifts on the tridiagonal matrix. Eigenvectors are not formed
 * (see {@link symmetricEigen}).
 *
 * Cost: (4/3) n^3 flops for the reduction (its symmetric rank-2 update and the next step's
 * matrix-vector product share one pass over the trailing matrix) and O(n^2) for QL; n = 4096 runs
 * in well under a minute on one core. The input is not modified unless `inPlace` is set.
 *
 * Accuracy: backward stable, so each eigenvalue is within a small multiple of n * 2^-52 * ||A||
 * of the exact one (Golub & Van Loan, Matrix Computations, Sec. 8.3).
 *
 * @throws {ShapeError} unless `matrix` has n * n entries; {@link MmesidError} naming the first
 *   non-finite entry of the upper triangle
 * @example
 * symmetricEigenvalues(Float64Array.of(2, 1, 1, 2), 2); // Float64Array [1, 3]
 */
export function symmetricEigenvalues(
  matrix: Float64Array,
  n: number,
  options: { inPlace?: boolean } = {},
): Float64Array {
  return decompose(matrix, n, options.inPlace === true, false, 'symmetricEigenvalues').values;
}

/**
 * The eigen-decomposition A = V diag(values) V^T of a real symmetric n x n matrix (row-major
 * float64, upper triangle read): the same Householder + implicit QL as
 * {@link symmetricEigenvalues}, with the reflections and rotations accumulated into V (about
 * 3x the flops of the values alone). Values ascend; column j of `vectors` belongs to `values[j]`.
 *
 * @throws {ShapeError} unless `matrix` has n * n entries; {@link MmesidError} naming the first
 *   non-finite entry
 * @example
 * const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
 * // values [1, 3]; vectors' columns +-[0.707, -0.707] and +-[0.707, 0.707]
 */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
  options: { inPlace?: boolean } = {},
): SymmetricEigen {
  return decompose(matrix, n, options.inPlace === true, true, 'symmetricEigen') as SymmetricEigen;
}

function decompose(
  matrix: Float64Array,
  n: number,
  inPlace: boolean,
  wantVectors: boolean,
  what: string,
): { values: Float64Array; vectors?: Float64Array } {
  if (!Number.isInteger(n) || n < 0 || matrix.length !== n * n) {
    throw new ShapeError(`${what}: expected ${n} x ${n} = ${n * n} values, got ${matrix.length}`);
  }
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      if (!Number.isFinite(matrix[i * n + j]!)) {
        throw new MmesidError(
          `${what}: entry (${i}, ${j}) is ${matrix[i * n + j]}; every entry must be finite`,
        );
      }
    }
  }
  if (n === 0)
    return { values: new Float64Array(0), ...(wantVectors ? { vectors: new Float64Array(0) } : {}) };
  const a = inPlace ? matrix : matrix.slice();
  const diag = new Float64Array(n);
  const off = new Float64Array(n);
  // With vectors, step k's Householder vector is kept in column k below the diagonal (the lower
  // triangle is never read) and its beta in betas[k].
  const betas = wantVectors ? new Float64Array(n) : undefined;
  tridiagonalize(a, n, diag, off, betas);
  if (!betas) {
    tridiagonalQL(diag, off, undefined, what);
    return { values: diag.sort() };
  }
  const z = householderProduct(a, n, betas);
  tridiagonalQL(diag, off, z, what);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => diag[i]! - diag[j]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = diag[src]!;
    for (let k = 0; k < n; k++) vectors[k * n + dst] = z[k * n + src]!;
  });
  return { values, vectors };
}

/** Q = H_0 H_1 ... H_{n-3} with H_k = I - beta_k v_k v_k^T, v_k stored in column k below the diagonal. */
function householderProduct(a: Float64Array, n: number, betas: Float64Array): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const t = new Float64Array(n);
  for (let k = n - 3; k >= 0; k--) {
    const beta = betas[k]!;
    if (beta === 0) continue;
    // Q <- H_k Q = Q - beta v (v^T Q); v and the rows it touches start at k + 1.
    t.fill(0);
    for (let i = k + 1; i < n; i++) {
      const vi = a[i * n + k]!;
      if (vi === 0) continue;
      for (let j = k + 1; j < n; j++) t[j]! += vi * q[i * n + j]!;
    }
    for (let i = k + 1; i < n; i++) {
      const f = beta * a[i * n + k]!;
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) q[i * n + j]! -= f * t[j]!;
    }
  }
  return q;
}

/** Builds the Householder vector of row k's part right of the diagonal into `v`; returns beta. */
function reflector(a: Float64Array, n: number, k: number, v: Float64Array): { alpha: number; beta: number } {
  const base = k * n;
  let scale = 0;
  for (let j = k + 1; j < n; j++) scale = Math.max(scale, Math.abs(a[base + j]!));
  if (scale === 0) {
    for (let j = k + 1; j < n; j++) v[j] = 0;
    return { alpha: 0, beta: 0 };
  }
  let ss = 0;
  for (let j = k + 1; j < n; j++) {
    const t = a[base + j]! / scale;
    ss += t * t;
  }
  const sigma = scale * Math.sqrt(ss);
  const x0 = a[base + k + 1]!;
  // alpha takes the sign opposite to x0 so that v0 = x0 - alpha involves no cancellation.
  const alpha = x0 > 0 ? -sigma : sigma;
  for (let j = k + 1; j < n; j++) v[j] = a[base + j]!;
  v[k + 1] = x0 - alpha;
  // v.v = ||x||^2 - 2 alpha x0 + alpha^2 = 2 sigma (sigma + |x0|)
  const beta = 1 / (sigma * (sigma + Math.abs(x0)));
  return { alpha, beta };
}

/** p[from..n-1] = beta * B v with B = a[from.., from..] read from its upper triangle. */
function symmetricMatvec(
  a: Float64Array,
  n: number,
  from: number,
  v: Float64Array,
  p: Float64Array,
  beta: number,
): void {
  p.fill(0, from, n);
  for (let i = from; i < n; i++) {
    const base = i * n;
    const vi = v[i]!;
    let s = a[base + i]! * vi;
    for (let j = i + 1; j < n; j++) {
      const b = a[base + j]!;
      s += b * v[j]!;
      p[j]! += b * vi;
    }
    p[i]! += s;
  }
  for (let i = from; i < n; i++) p[i]! *= beta;
}

/**
 * Reduces the symmetric matrix (upper triangle of `a`, destroyed) to tridiagonal form T = Q^T A Q:
 * `diag[k]` = T(k, k), `off[k]` = T(k, k + 1) (off[n - 1] = 0).
 */
function tridiagonalize(
  a: Float64Array,
  n: number,
  diag: Float64Array,
  off: Float64Array,
  betas?: Float64Array,
): void {
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  let vNext = new Float64Array(n);
  let pNext = new Float64Array(n);
  const w = new Float64Array(n);
  let cur = n >= 3 ? reflector(a, n, 0, v) : { alpha: 0, beta: 0 };
  if (cur.beta !== 0) symmetricMatvec(a, n, 1, v, p, cur.beta);
  for (let k = 0; k < n - 2; k++) {
    diag[k] = a[k * n + k]!;
    off[k] = cur.alpha;
    const first = k + 1;
    if (betas) {
      betas[k] = cur.beta;
      for (let j = first; j < n; j++) a[j * n + k] = cur.beta === 0 ? 0 : v[j]!;
    }
    const hasNext = k + 1 < n - 2;
    if (cur.beta === 0) {
      // Nothing to annihilate: the trailing block is unchanged.
      if (hasNext) {
        cur = reflector(a, n, first, v);
        if (cur.beta !== 0) symmetricMatvec(a, n, first + 1, v, p, cur.beta);
      }
      continue;
    }
    // B <- B - v w^T - w v^T with w = p - (beta/2)(v.p) v, where p = beta B v.
    let vp = 0;
    for (let j = first; j < n; j++) vp += v[j]! * p[j]!;
    const half = 0.5 * cur.beta * vp;
    for (let j = first; j < n; j++) w[j] = p[j]! - half * v[j]!;
    // The first row of B first: it holds the next step's vector.
    updateRow(a, n, first, v, w);
    let next = { alpha: 0, beta: 0 };
    if (hasNext) next = reflector(a, n, first, vNext);
    if (next.beta !== 0) {
      // Update the rest of B and accumulate the next step's B' v' in the same pass.
      pNext.fill(0, first + 1, n);
      updateAndMultiply(a, n, first + 1, v, w, vNext, pNext);
      for (let i = first + 1; i < n; i++) pNext[i]! *= next.beta;
    } else {
      for (let i = first + 1; i < n; i++) updateRow(a, n, i, v, w);
    }
    [v, vNext] = [vNext, v];
    [p, pNext] = [pNext, p];
    cur = next;
  }
  if (n >= 2) {
    diag[n - 2] = a[(n - 2) * n + n - 2]!;
    off[n - 2] = a[(n - 2) * n + n - 1]!;
  }
  diag[n - 1] = a[(n - 1) * n + n - 1]!;
  off[n - 1] = 0;
}

/**
 * For rows i >= from of the trailing matrix (upper triangle): B <- B - v w^T - w v^T, and
 * p += B' u with the updated values, two rows per pass so that each load of w, v, u and p serves
 * two rows (the loop is bound by memory traffic, not arithmetic).
 */
function updateAndMultiply(
  a: Float64Array,
  n: number,
  from: number,
  v: Float64Array,
  w: Float64Array,
  u: Float64Array,
  p: Float64Array,
): void {
  let i = from;
  for (; i + 1 < n; i += 2) {
    const r0 = i * n;
    const r1 = r0 + n;
    const v0 = v[i]!;
    const w0 = w[i]!;
    const u0 = u[i]!;
    const v1 = v[i + 1]!;
    const w1 = w[i + 1]!;
    const u1 = u[i + 1]!;
    const d0 = a[r0 + i]! - 2 * v0 * w0;
    a[r0 + i] = d0;
    const e01 = a[r0 + i + 1]! - v0 * w1 - w0 * v1;
    a[r0 + i + 1] = e01;
    const d1 = a[r1 + i + 1]! - 2 * v1 * w1;
    a[r1 + i + 1] = d1;
    let s0 = d0 * u0 + e01 * u1;
    let s1 = d1 * u1;
    p[i + 1]! += e01 * u0;
    for (let j = i + 2; j < n; j++) {
      const wj = w[j]!;
      const vj = v[j]!;
      const uj = u[j]!;
      const b0 = a[r0 + j]! - v0 * wj - w0 * vj;
      const b1 = a[r1 + j]! - v1 * wj - w1 * vj;
      a[r0 + j] = b0;
      a[r1 + j] = b1;
      s0 += b0 * uj;
      s1 += b1 * uj;
      p[j]! += b0 * u0 + b1 * u1;
    }
    p[i]! += s0;
    p[i + 1]! += s1;
  }
  if (i < n) {
    const r = i * n + i;
    const d = a[r]! - 2 * v[i]! * w[i]!;
    a[r] = d;
    p[i]! += d * u[i]!;
  }
}

function updateRow(a: Float64Array, n: number, i: number, v: Float64Array, w: Float64Array): void {
  const base = i * n;
  const vi = v[i]!;
  const wi = w[i]!;
  for (let j = i; j < n; j++) a[base + j]! -= vi * w[j]! + wi * v[j]!;
}

/** sqrt(x^2 + y^2) without overflow (Math.hypot is slow in V8). */
function hypot(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  if (ax > ay) {
    const r = ay / ax;
    return ax * Math.sqrt(1 + r * r);
  }
  if (ay === 0) return 0;
  const r = ax / ay;
  return ay * Math.sqrt(1 + r * r);
}

const MAX_SWEEPS = 60;
/** Sweeps on one eigenvalue before the splitting test also accepts |e| <= eps * ||T||. */
const SWEEPS_RELATIVE = 30;

/**
 * Eigenvalues of the symmetric tridiagonal matrix (diag, off) by implicit QL with shifts,
 * overwriting `diag` with them (unsorted); `off` is destroyed. With `z` (row-major n x n), each
 * rotation is also applied to z's columns, turning Q into Q times the tridiagonal's eigenvectors.
 */
function tridiagonalQL(d: Float64Array, e: Float64Array, z: Float64Array | undefined, what: string): void {
  const n = d.length;
  const eps = Number.EPSILON;
  // The tridiagonal's norm bound (max row sum), for the fallback test below.
  let norm = 0;
  for (let i = 0; i < n; i++)
    norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0));
  for (let l = 0; l < n; l++) {
    let sweeps = 0;
    for (;;) {
      // Find the first negligible off-diagonal element at or after l: the block l..m splits off.
      // Negligible relative to its two diagonal neighbours; after SWEEPS_RELATIVE sweeps also
      // relative to the whole matrix (EISPACK tql1's test), which a cluster of eigenvalues at the
      // rounding level of a rank-deficient matrix may need to converge. Both keep the backward error
      // within eps * ||A||.
      const absolute = sweeps >= SWEEPS_RELATIVE ? eps * norm : 0;
      let m = l;
      for (; m < n - 1; m++) {
        const em = Math.abs(e[m]!);
        if (em <= eps * (Math.abs(d[m]!) + Math.abs(d[m + 1]!)) || em <= absolute) break;
      }
      if (m === l) break;
      if (++sweeps > MAX_SWEEPS) {
        throw new MmesidError(`${what}: QL did not converge for eigenvalue ${l} after ${MAX_SWEEPS} sweeps`);
      }
      // Shift: the eigenvalue of the leading 2 x 2 block closer to d[l].
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let deflated = false;
      for (let i = m - 1; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // A rotation met an exact zero: the matrix split; restart on the smaller block.
          d[i + 1]! -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (z) {
          for (let k = 0; k < n; k++) {
            const zk = k * n;
            const h = z[zk + i + 1]!;
            z[zk + i + 1] = s * z[zk + i]! + c * h;
            z[zk + i] = c * z[zk + i]! - s * h;
          }
        }
      }
      if (deflated) continue;
      d[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}
