import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/** tfjs kernel names of {@link swiglu}'s kernels (registered for cpu and wasm). */
export const SWIGLU = 'MmesidSwiGLU';
export const SWIGLU_GRAD = 'MmesidSwiGLUGrad';

const f = Math.fround;

/** y = silu(g) u = g sigmoid(g) u, each step rounded to float32 as the composite's kernels. */
function forward(g: ArrayLike<number>, u: ArrayLike<number>, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) {
    const gi = g[i]!;
    const s = f(1 / (1 + Math.exp(-gi)));
    y[i] = f(f(gi * s) * u[i]!);
  }
}

/** dg = dy u s (1 + g (1 - s)), du = dy g s, with s = sigmoid(g). */
function backward(
  dy: ArrayLike<number>,
  g: ArrayLike<number>,
  u: ArrayLike<number>,
  dg: Float32Array,
  du: Float32Array,
): void {
  for (let i = 0; i < dg.length; i++) {
    const gi = g[i]!;
    const s = 1 / (1 + Math.exp(-gi));
    du[i] = dy[i]! * gi * s;
    dg[i] = dy[i]! * u[i]! * s * (1 + gi * (1 - s));
  }
}

/** Registers the kernels (and the gradient) for cpu and wasm; each only once. */
export function registerSwiglu(): void {
  registerHostKernel(
    SWIGLU,
    {
      outputs: ({ g }) => [{ shape: [...g!.shape], dtype: 'float32' }],
      run: ({ g, u }, _inputs, _attrs, [y]) => forward(g!, u!, y as Float32Array),
    },
    {
      gradient: {
        kernel: SWIGLU_GRAD,
        inputs: ['g', 'u'],
        grad: {
          outputs: ({ g }) => [0, 1].map(() => ({ shape: [...g!.shape], dtype: 'float32' as const })),
          run: ({ dy, g, u }, _inputs, _attrs, [dg, du]) =>
            backward(dy!, g!, u!, dg as Float32Array, du as Float32Array),
        },
      },
    },
  );
}

/** The composite form of {@link swiglu}: g * sigmoid(g) * u, three kernels. */
export function swigluComposite(g: tf.Tensor, u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u));
}

/**
 * SwiGLU's gate: silu(g) * u = g sigmoid(g) u elementwise, for float32 g and u of one shape (Llama's
 * MLP between gate/up and down projections). One kernel forward and one backward (dg and du) on
 * cpu and wasm, the composite (three kernels forward, about ten backward) elsewhere. Equal to the
 * composite up to float32 rounding. The caller owns the result.
 */
export function swiglu(g: tf.Tensor, u: tf.Tensor): tf.Tensor {
  if (g.dtype !== 'float32' || u.dtype !== 'float32' || !tf.util.arraysEqual(g.shape, u.shape))
    throw new RangeError(
      `swiglu: expected float32 g and u of one shape, got ${g.dtype} [${g.shape}] and ${u.dtype} [${u.shape}]`,
    );
  if (tf.getKernel(SWIGLU, tf.getBackend())) return tf.engine().runKernel(SWIGLU, { g, u }) as tf.Tensor;
  return swigluComposite(g, u);
}
