import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/** tfjs kernel name of {@link nearestFromProducts}' one-pass kernel (registered for cpu and wasm). */
export const NEAREST_FROM_PRODUCTS = 'MmesidNearestFromProducts';

const f = Math.fround;

/**
 * For each row i: the first j minimising relu((xx[i] + ee[j]) - 2 xe[i, j]) and that minimum,
 * with the composite's float32 rounding at each step (double arithmetic rounded to float32 equals
 * float32 arithmetic for one +, - or *).
 */
function nearest(
  xe: ArrayLike<number>,
  xx: ArrayLike<number>,
  ee: ArrayLike<number>,
  rows: number,
  cols: number,
  index: Int32Array,
  dist: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const a = xx[r]!;
    let best = Number.POSITIVE_INFINITY;
    let at = 0;
    let nan = false;
    for (let j = 0; j < cols; j++) {
      let v = f(f(a + ee[j]!) - 2 * xe[base + j]!);
      if (v < 0) v = 0;
      else if (Number.isNaN(v)) {
        nan = true;
        continue;
      }
      if (v < best) {
        best = v;
        at = j;
      }
    }
    index[r] = at;
    dist[r] = nan ? Number.NaN : best;
  }
}

/**
 * Registers the kernel of {@link nearestFromProducts} for the cpu and wasm backends (a JS loop over
 * the backend's own buffers). Called by `initBackend`; safe to call more than once.
 */
export function registerNearestFromProducts(): void {
  registerHostKernel(NEAREST_FROM_PRODUCTS, {
    outputs: ({ xe }) => [
      { shape: [xe!.shape[0]!], dtype: 'int32' },
      { shape: [xe!.shape[0]!], dtype: 'float32' },
    ],
    run: ({ xe, xx, ee }, { xe: xi }, _attrs, [index, dist]) => {
      const [rows, cols] = xi!.shape as [number, number];
      nearest(xe!, xx!, ee!, rows, cols, index as Int32Array, dist as Float32Array);
    },
  });
}

/**
 * The composite form of {@link nearestFromProducts}: the [N, K] distance matrix
 * relu((xx 1^T + 1 ee^T) - 2 xe) (as `squaredDistances` in @mmesid/rqvae builds it), then argMin and
 * min over each row.
 */
export function nearestFromProductsComposite(
  xe: tf.Tensor2D,
  xx: tf.Tensor1D,
  ee: tf.Tensor1D,
): { index: tf.Tensor1D; distance: tf.Tensor1D } {
  const [index, distance] = tf.tidy(() => {
    const [n, k] = xe.shape;
    const d = tf.relu(tf.sub(tf.add(tf.reshape(xx, [n, 1]), tf.reshape(ee, [1, k])), tf.mul(xe, 2)));
    return [tf.argMin(d, 1) as tf.Tensor1D, tf.min(d, 1) as tf.Tensor1D];
  });
  return { index: index!, distance: distance! };
}

/**
 * Nearest code of every row from the products xe = x c^T [N, K] and the squared norms xx [N] of the
 * rows and ee [K] of the codes: the squared distance of row i to code j is
 * relu((xx[i] + ee[j]) - 2 xe[i, j]) in float32, and the result is, per row, the index of the first
 * smallest distance (int32 [N]) and that distance (float32 [N]). One pass over xe on cpu and wasm,
 * with the composite's rounding (same bits); elsewhere the composite (the [N, K] matrix, argMin,
 * min). Lets k-means and code assignment run one matmul and this instead of six kernels over
 * [N, K]. Not differentiable. The caller owns both results.
 *
 * @example
 * const xe = tf.matMul(x, codes, false, true);
 * const { index, distance } = nearestFromProducts(xe, tf.sum(tf.square(x), 1), tf.sum(tf.square(codes), 1));
 */
export function nearestFromProducts(
  xe: tf.Tensor2D,
  xx: tf.Tensor1D,
  ee: tf.Tensor1D,
): { index: tf.Tensor1D; distance: tf.Tensor1D } {
  if (
    xe.rank !== 2 ||
    xx.rank !== 1 ||
    ee.rank !== 1 ||
    xx.shape[0] !== xe.shape[0] ||
    ee.shape[0] !== xe.shape[1]
  )
    throw new RangeError(
      `nearestFromProducts: expected xe [N, K], xx [N], ee [K], got [${xe.shape}], [${xx.shape}], [${ee.shape}]`,
    );
  if (xe.dtype !== 'float32' || xx.dtype !== 'float32' || ee.dtype !== 'float32')
    throw new RangeError(
      `nearestFromProducts: inputs must be float32, got ${xe.dtype}, ${xx.dtype}, ${ee.dtype}`,
    );
  if (tf.getKernel(NEAREST_FROM_PRODUCTS, tf.getBackend())) {
    const [index, distance] = tf.engine().runKernel(NEAREST_FROM_PRODUCTS, { xe, xx, ee }, {}) as tf.Tensor[];
    return { index: index as tf.Tensor1D, distance: distance as tf.Tensor1D };
  }
  return nearestFromProductsComposite(xe, xx, ee);
}
