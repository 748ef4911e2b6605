import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/** tfjs kernel name of {@link logNormalize}'s one-kernel form (registered for cpu and wasm). */
export const LOG_NORMALIZE = 'MmesidLogNormalize';

interface Attrs {
  axis: 0 | 1;
  offset: number;
}

const f = Math.fround;

/**
 * out = x - (logsumexp(x, axis) + offset) for x [R, C], in three row-major passes (max, sum of
 * exp(x - max) in float64, write). Rounds as the composite does at each float32 step it keeps.
 */
function normalize(x: ArrayLike<number>, rows: number, cols: number, a: Attrs, out: Float32Array): void {
  const off = f(a.offset);
  if (a.axis === 1) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let mx = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < cols; j++) if (x[base + j]! > mx) mx = x[base + j]!;
      let s = 0;
      for (let j = 0; j < cols; j++) s += Math.exp(f(x[base + j]! - mx));
      const shift = f(f(mx + f(Math.log(s))) + off);
      for (let j = 0; j < cols; j++) out[base + j] = f(x[base + j]! - shift);
    }
    return;
  }
  const mx = new Float64Array(cols).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) if (x[base + j]! > mx[j]!) mx[j] = x[base + j]!;
  }
  const s = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) s[j]! += Math.exp(f(x[base + j]! - mx[j]!));
  }
  const shift = new Float64Array(cols);
  for (let j = 0; j < cols; j++) shift[j] = f(f(mx[j]! + f(Math.log(s[j]!))) + off);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) out[base + j] = f(x[base + j]! - shift[j]!);
  }
}

/**
 * Registers the kernel of {@link logNormalize} for the cpu and wasm backends (a JS loop over the
 * backend's own buffers). Called by `initBackend`; safe to call more than once.
 */
export function registerLogNormalize(): void {
  registerHostKernel<Attrs>(LOG_NORMALIZE, {
    outputs: ({ x }) => [{ shape: x!.shape, dtype: 'float32' }],
    run: ({ x }, { x: xi }, attrs, [out]) => {
      const [rows, cols] = xi!.shape as [number, number];
      normalize(x!, rows, cols, attrs, out as Float32Array);
    },
  });
}

/** The composite form of {@link logNormalize}: tfjs's logSumExp, an add and a subtract. */
export function logNormalizeComposite(x: tf.Tensor2D, axis: 0 | 1, offset: number): tf.Tensor2D {
  return tf.tidy(() => tf.sub(x, tf.add(tf.logSumExp(x, axis, true), offset)) as tf.Tensor2D);
}

/**
 * x - (logsumexp(x, axis) + offset) for a float32 matrix x [R, C] (keepDims), the normalisation
 * step of log-domain Sinkhorn-Knopp: one kernel on cpu and wasm (three passes over x, the
 * exponentials summed in float64), the composite (6-8 kernels) elsewhere. Not differentiable: for
 * computations off the gradient tape. The caller owns the result.
 */
export function logNormalize(x: tf.Tensor2D, axis: 0 | 1, offset = 0): tf.Tensor2D {
  if (x.rank !== 2 || x.dtype !== 'float32')
    throw new RangeError(`logNormalize: expected a float32 matrix, got ${x.dtype} [${x.shape}]`);
  if (axis !== 0 && axis !== 1) throw new RangeError(`logNormalize: axis must be 0 or 1, got ${axis}`);
  if (tf.getKernel(LOG_NORMALIZE, tf.getBackend()))
    return tf.engine().runKernel(LOG_NORMALIZE, { x }, { axis, offset }) as tf.Tensor2D;
  return logNormalizeComposite(x, axis, offset);
}
