import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';
import { logNormalize } from './log-normalize.js';

/** tfjs kernel name of {@link sinkhornArgMax}'s host kernel (registered for cpu and wasm). */
export const SINKHORN_ARGMAX = 'MmesidSinkhornArgMax';

/** Scaling factors outside [1 / LIMIT, LIMIT] are absorbed into the log potentials. */
const LIMIT = 1e100;

/**
 * Log-domain Sinkhorn-Knopp on the log plan `logq` [rows, cols] in float64 with the stabilised
 * scaling form (Schmitzer 2019, "absorption"): the plan is u_i exp(L_ij - F_i - G_j) v_j with log
 * potentials F, G and scalings u, v. Each half-step only rescales u or v (one multiply-add per
 * entry, no exponential); when a scaling leaves [1e-100, 1e100] (or a sum underflows) it is folded
 * into F or G and that half-step is redone exactly in the log domain (log-sum-exp with its max),
 * after which the kernel exp(L - F - G) is recomputed. Columns are scaled to mass 1/cols, then rows
 * to 1/rows, `iters` times; `index[i]` is the first j maximising the final plan's row i.
 */
function sinkhorn(L: ArrayLike<number>, rows: number, cols: number, iters: number, index: Int32Array): void {
  const F = new Float64Array(rows);
  const G = new Float64Array(cols);
  const u = new Float64Array(rows).fill(1);
  const v = new Float64Array(cols).fill(1);
  const kern = new Float64Array(rows * cols);
  const colSum = new Float64Array(cols);
  const logCols = Math.log(cols);
  const logRows = Math.log(rows);
  const rebuild = () => {
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      const f = F[i]!;
      for (let j = 0; j < cols; j++) kern[base + j] = Math.exp(L[base + j]! - f - G[j]!);
    }
  };
  const absorb = () => {
    for (let i = 0; i < rows; i++) {
      F[i] = F[i]! - Math.log(u[i]!);
      u[i] = 1;
    }
    for (let j = 0; j < cols; j++) {
      G[j] = G[j]! - Math.log(v[j]!);
      v[j] = 1;
    }
  };
  const bad = (x: number) => !(x >= 1 / LIMIT && x <= LIMIT);
  for (let it = 0; it < iters; it++) {
    // Columns: v_j = (1 / cols) / sum_i u_i k_ij. The first one runs in the log domain (F = G = 0,
    // no kernel yet: exp(L) itself may overflow).
    let redo = it === 0;
    if (!redo) {
      colSum.fill(0);
      for (let i = 0; i < rows; i++) {
        const base = i * cols;
        const ui = u[i]!;
        for (let j = 0; j < cols; j++) colSum[j] = colSum[j]! + ui * kern[base + j]!;
      }
      for (let j = 0; j < cols; j++) {
        v[j] = 1 / (cols * colSum[j]!);
        if (bad(v[j]!)) redo = true;
      }
    }
    if (redo) {
      // Exact log-domain column step from the absorbed row potentials: G_j = lse_i(L_ij - F_i) + log cols.
      for (let j = 0; j < cols; j++) v[j] = 1;
      absorb();
      for (let j = 0; j < cols; j++) {
        let mx = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < rows; i++) mx = Math.max(mx, L[i * cols + j]! - F[i]!);
        let s = 0;
        for (let i = 0; i < rows; i++) s += Math.exp(L[i * cols + j]! - F[i]! - mx);
        G[j] = mx + Math.log(s) + logCols;
      }
      rebuild();
    }
    // Rows: u_i = (1 / rows) / sum_j k_ij v_j.
    redo = false;
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      let s = 0;
      for (let j = 0; j < cols; j++) s += kern[base + j]! * v[j]!;
      u[i] = 1 / (rows * s);
      if (bad(u[i]!)) redo = true;
    }
    if (redo) {
      for (let i = 0; i < rows; i++) u[i] = 1;
      absorb();
      for (let i = 0; i < rows; i++) {
        const base = i * cols;
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < cols; j++) mx = Math.max(mx, L[base + j]! - G[j]!);
        let s = 0;
        for (let j = 0; j < cols; j++) s += Math.exp(L[base + j]! - G[j]! - mx);
        F[i] = mx + Math.log(s) + logRows;
      }
      rebuild();
    }
  }
  // Row i's plan is proportional to exp(L_ij - G_j) v_j: compare L_ij - (G_j - log v_j).
  const shift = Float64Array.from(G, (g, j) => g - Math.log(v[j]!));
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    let best = Number.NEGATIVE_INFINITY;
    let at = 0;
    for (let j = 0; j < cols; j++) {
      const s = L[base + j]! - shift[j]!;
      if (s > best) {
        best = s;
        at = j;
      }
    }
    index[i] = at;
  }
}

/**
 * Registers the kernel of {@link sinkhornArgMax} for the cpu and wasm backends (a JS loop over the
 * backend's own buffer). Called by `initBackend`; safe to call more than once.
 */
export function registerSinkhornArgMax(): void {
  registerHostKernel<{ iters: number }>(SINKHORN_ARGMAX, {
    outputs: ({ x }) => [{ shape: [x!.shape[0]!], dtype: 'int32' }],
    run: ({ x }, { x: xi }, { iters }, [index]) => {
      const [rows, cols] = xi!.shape as [number, number];
      sinkhorn(x!, rows, cols, iters, index as Int32Array);
    },
  });
}

/**
 * The composite form of {@link sinkhornArgMax}: `iters` log-domain normalisations of the columns
 * (to log mass -log cols) then of the rows (-log rows) with {@link logNormalize}, then argMax over
 * each row, all in float32 on the active backend.
 */
export function sinkhornArgMaxComposite(logq: tf.Tensor2D, iters: number): tf.Tensor1D {
  return tf.tidy(() => {
    const [rows, cols] = logq.shape;
    let q = logq;
    for (let i = 0; i < iters; i++) {
      const c = logNormalize(q, 0, Math.log(cols));
      if (q !== logq) q.dispose();
      q = logNormalize(c, 1, Math.log(rows));
      c.dispose();
    }
    return tf.argMax(q, 1) as tf.Tensor1D;
  });
}

/**
 * Sinkhorn-Knopp on a log plan `logq` [B, K] (e.g. -distance / epsilon): `iters` times every
 * column is scaled to mass 1/K and then every row to 1/B, and the result is, per row, the index of
 * its largest entry (int32 [B]), i.e. the balanced assignment of B points to K codes.
 *
 * On cpu and wasm one host kernel in float64 (scaling vectors with absorption into log potentials,
 * so exp(logq) is never formed where it would overflow: no exponential per entry and iteration, as
 * the log domain needs); elsewhere the float32 composite ({@link sinkhornArgMaxComposite}). The
 * two agree except where a row's two best entries lie within float32 rounding of each other
 * (the composite accumulates ~1e-7 relative error per normalisation). Expects finite input. Not
 * differentiable. The caller owns the result.
 *
 * @example
 * const codes = sinkhornArgMax(tf.div(centredDistances, -0.003), 50);
 */
export function sinkhornArgMax(logq: tf.Tensor2D, iters: number): tf.Tensor1D {
  if (logq.rank !== 2 || logq.dtype !== 'float32')
    throw new RangeError(`sinkhornArgMax: expected a float32 matrix, got ${logq.dtype} [${logq.shape}]`);
  if (!Number.isInteger(iters) || iters < 0)
    throw new RangeError(`sinkhornArgMax: iters must be a non-negative integer, got ${iters}`);
  if (tf.getKernel(SINKHORN_ARGMAX, tf.getBackend()))
    return tf.engine().runKernel(SINKHORN_ARGMAX, { x: logq }, { iters }) as tf.Tensor1D;
  return sinkhornArgMaxComposite(logq, iters);
}
