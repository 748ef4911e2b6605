import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';
import { WASM_BASE64 } from './simd/count-at-least.wasm.js';
import { heapModule, type WasmHeapBackend } from './simd/heap-module.js';

/** tfjs kernel name of {@link countAtLeast}'s one-pass kernel (registered for cpu and wasm). */
export const COUNT_AT_LEAST = 'MmesidCountAtLeast';

function count(
  x: ArrayLike<number>,
  t: ArrayLike<number>,
  rows: number,
  cols: number,
  out: Int32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const th = t[r]!;
    const base = r * cols;
    let c = 0;
    // Branch-free: with random scores a taken/not-taken branch mispredicts half the time.
    for (let j = 0; j < cols; j++) c += +(x[base + j]! >= th);
    out[r] = c;
  }
}

/** The export of simd/count-at-least.wat (byte offsets into the heap). */
interface SimdExports {
  count(x: number, t: number, rows: number, cols: number, out: number): void;
}

/** The SIMD module on this backend's heap, or null (then the JS loop runs on the heap). */
export function countAtLeastSimd(backend: unknown): SimdExports | null {
  return heapModule<SimdExports>(backend, WASM_BASE64);
}

/**
 * Registers the one-pass kernel of {@link countAtLeast} for the cpu backend (a JS loop over its
 * buffers) and the wasm backend (the WebAssembly SIMD module of `simd/count-at-least.wat` in place
 * on the heap: [1,024, 12,088] in ~1.8 ms CPU against ~13 ms for the JS loop; the JS loop where that module cannot run). Called by
 * `initBackend`; safe to call more than once.
 */
export function registerCountAtLeast(): void {
  registerHostKernel(
    COUNT_AT_LEAST,
    {
      outputs: ({ x }) => [{ shape: [x!.shape[0]!], dtype: 'int32' }],
      run: ({ x, t }, { x: xi }, _attrs, [out]) => {
        const [rows, cols] = xi!.shape as [number, number];
        count(x!, t!, rows, cols, out as Int32Array);
      },
    },
    { backends: ['cpu'] },
  );
  if (!tf.getKernel(COUNT_AT_LEAST, 'wasm'))
    tf.registerKernel({
      kernelName: COUNT_AT_LEAST,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend }) => {
        const b = backend as WasmHeapBackend;
        const { x, t } = inputs as { x: tf.TensorInfo; t: tf.TensorInfo };
        const [rows, cols] = x.shape as [number, number];
        const out = b.makeOutput([rows], 'int32'); // before any view: allocating may grow the heap
        if (rows === 0) return out;
        const simd = countAtLeastSimd(b);
        if (!simd) {
          count(
            b.typedArrayFromHeap(x),
            b.typedArrayFromHeap(t),
            rows,
            cols,
            b.typedArrayFromHeap(out) as Int32Array,
          );
          return out;
        }
        const off = (v: tf.TensorInfo) => b.dataIdMap.get(v.dataId).memoryOffset;
        simd.count(off(x), off(t), rows, cols, off(out));
        return out;
      },
    });
}

/**
 * For each row r of `x` [B, N] (float32), the number of entries `>= t[r]` (`t` [B], float32), as
 * int32 [B]. NaN entries never count. One pass over `x` where the backend has the kernel (cpu,
 * wasm); elsewhere greaterEqual against an exact outer product t 1^T, cast and sum (3-4 kernels
 * over [B, N]). Not differentiable. The caller owns the result.
 *
 * @example
 * const ranks = countAtLeast(scores, targetScores); // rank of each target counting ties against it
 */
export function countAtLeast(x: tf.Tensor2D, t: tf.Tensor1D): tf.Tensor1D {
  if (x.rank !== 2 || t.rank !== 1 || t.shape[0] !== x.shape[0])
    throw new RangeError(`countAtLeast: expected x [B, N] and t [B], got [${x.shape}] and [${t.shape}]`);
  if (x.dtype !== 'float32' || t.dtype !== 'float32')
    throw new RangeError(`countAtLeast: x and t must be float32, got ${x.dtype} and ${t.dtype}`);
  if (tf.getKernel(COUNT_AT_LEAST, tf.getBackend()))
    return tf.engine().runKernel(COUNT_AT_LEAST, { x, t }, {}) as tf.Tensor1D;
  return tf.tidy(() => {
    const [rows, cols] = x.shape;
    // An exact outer product t 1^T (x * 1 = x): broadcasting greaterEqual over [B, 1] takes a
    // generic slow path on several backends.
    const spread = tf.matMul(tf.reshape(t, [rows, 1]), tf.ones([1, cols]));
    return tf.sum(tf.cast(tf.greaterEqual(x, spread), 'int32'), 1) as tf.Tensor1D;
  });
}
