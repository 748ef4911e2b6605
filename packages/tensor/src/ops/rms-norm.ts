import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/** tfjs kernel names of {@link rmsNorm}'s one-pass kernels (registered for cpu and wasm). */
export const RMS_NORM = 'MmesidRmsNorm';
export const RMS_NORM_GRAD = 'MmesidRmsNormGrad';

const f = Math.fround;

/** y = x r w per row of d, r = 1 / sqrt(mean(x^2) + eps); the sum of squares in float64. */
function forward(x: ArrayLike<number>, w: ArrayLike<number>, d: number, eps: number, y: Float32Array): void {
  const rows = y.length / d;
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += x[o + j]! * x[o + j]!;
    const r = f(1 / Math.sqrt(f(f(s / d) + eps)));
    for (let j = 0; j < d; j++) y[o + j] = f(f(x[o + j]! * r) * w[j]!);
  }
}

/**
 * The gradients of y = x r w: dx = r (w dy) - x r^3 / d * sum_j (w dy x)_j per row, and
 * dw = sum over rows of dy x r. Sums in float64.
 */
function backward(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  d: number,
  eps: number,
  dx: Float32Array,
  dw: Float32Array,
): void {
  const rows = dx.length / d;
  const acc = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    let s = 0;
    let dot = 0;
    for (let j = 0; j < d; j++) {
      const xv = x[o + j]!;
      s += xv * xv;
      dot += w[j]! * dy[o + j]! * xv;
    }
    const r = 1 / Math.sqrt(f(f(s / d) + eps));
    const c = (dot * r * r * r) / d;
    for (let j = 0; j < d; j++) {
      const xv = x[o + j]!;
      dx[o + j] = r * w[j]! * dy[o + j]! - xv * c;
      acc[j]! += dy[o + j]! * xv * r;
    }
  }
  for (let j = 0; j < d; j++) dw[j] = acc[j]!;
}

type Attrs = { eps: number };

/** Registers the kernels (and the gradient) for cpu and wasm; each only once. */
export function registerRmsNorm(): void {
  registerHostKernel<Attrs>(
    RMS_NORM,
    {
      outputs: ({ x }) => [{ shape: [...x!.shape], dtype: 'float32' }],
      run: ({ x, w }, { w: wi }, { eps }, [y]) => forward(x!, w!, wi!.shape[0]!, eps, y as Float32Array),
    },
    {
      gradient: {
        kernel: RMS_NORM_GRAD,
        inputs: ['x', 'w'],
        grad: {
          outputs: ({ x, w }) => [
            { shape: [...x!.shape], dtype: 'float32' },
            { shape: [w!.shape[0]!], dtype: 'float32' },
          ],
          run: ({ dy, x, w }, { w: wi }, { eps }, [dx, dw]) =>
            backward(dy!, x!, w!, wi!.shape[0]!, eps, dx as Float32Array, dw as Float32Array),
        },
      },
    },
  );
}

/** The composite form of {@link rmsNorm}: x * rsqrt(mean(x^2) + eps) * w, five kernels. */
export function rmsNormComposite(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w));
}

/**
 * RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * w for float32 x [..., d] and w [d].
 * One kernel forward and one backward (giving dx and dw) on cpu and wasm, the sums in float64; the
 * composite (five kernels forward, about fifteen backward) elsewhere. Differentiable in x and w.
 * Equal to the composite up to float32 rounding (a few ulps). The caller owns the result.
 */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const d = x.shape[x.rank - 1];
  if (x.dtype !== 'float32' || w.rank !== 1 || w.shape[0] !== d)
    throw new RangeError(
      `rmsNorm: expected float32 x [..., d] and w [d], got ${x.dtype} [${x.shape}] and [${w.shape}]`,
    );
  if (tf.getKernel(RMS_NORM, tf.getBackend()))
    return tf.engine().runKernel(RMS_NORM, { x, w }, { eps }) as tf.Tensor;
  return rmsNormComposite(x, w, eps);
}
