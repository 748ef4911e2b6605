import { nearestFromProducts, tf } from '@mmesid/tensor';

/**
 * Squared Euclidean distances between every row of `x` [B, d] and every row of `codes` [K, d], as
 * [B, K]: ||x||^2 + ||e||^2 - 2 x e^T (one matmul; clamped at 0 against rounding). Differentiable
 * in both arguments. The caller disposes the result.
 */
export function squaredDistances(x: tf.Tensor2D, codes: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const xx = tf.sum(tf.square(x), 1, true);
    const ee = tf.sum(tf.square(codes), 1).reshape([1, -1]);
    const xe = tf.matMul(x, codes, false, true);
    return tf.relu(tf.sub(tf.add(xx, ee), tf.mul(xe, 2))) as tf.Tensor2D;
  });
}

/**
 * Entries of the [rows, K] product matrix per chunk of {@link nearestCodes} (16M floats, 64 MB):
 * rows are only split beyond that, since each split costs a copy of the chunk (tfjs's Slice, slow
 * on wasm).
 */
export const DISTANCE_CHUNK_ENTRIES = 2 ** 24;

/**
 * For every row of `x`, the index of its nearest code and the squared distance to it, read back
 * to the CPU chunk by chunk (so a [N, K] matrix never exists for large N). Per chunk one plain
 * matmul against the transposed codes and one pass over its [rows, K] products
 * (`nearestFromProducts`: the same indices and float32 distances as argMin/min over
 * {@link squaredDistances}). Nothing is left allocated.
 */
export async function nearestCodes(
  x: tf.Tensor2D,
  codes: tf.Tensor2D,
  chunkRows = Math.max(1, Math.floor(DISTANCE_CHUNK_ENTRIES / codes.shape[0])),
): Promise<{ index: Int32Array; distance: Float32Array }> {
  const n = x.shape[0];
  const index = new Int32Array(n);
  const distance = new Float32Array(n);
  const [codesT, ee] = tf.tidy(() => [
    tf.transpose(codes) as tf.Tensor2D,
    tf.sum(tf.square(codes), 1) as tf.Tensor1D,
  ]);
  try {
    for (let start = 0; start < n; start += chunkRows) {
      const size = Math.min(chunkRows, n - start);
      const [idxT, minT] = tf.tidy(() => {
        const part = size === n ? x : x.slice([start, 0], [size, -1]);
        const xx = tf.sum(tf.square(part), 1) as tf.Tensor1D;
        const r = nearestFromProducts(tf.matMul(part, codesT!) as tf.Tensor2D, xx, ee!);
        return [r.index, r.distance];
      });
      index.set((await idxT!.data()) as Int32Array, start);
      distance.set((await minT!.data()) as Float32Array, start);
      tf.dispose([idxT!, minT!]);
    }
  } finally {
    tf.dispose([codesT!, ee!]);
  }
  return { index, distance };
}
