import { tf } from '../tf.js';
import type { CpuBackendLike, WasmBackendLike } from './host-backends.js';

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
  for (const backendName of ['cpu', 'wasm'] as const) {
    if (tf.getKernel(SWIGLU, backendName)) continue;
    const wasm = backendName === 'wasm';
    tf.registerKernel({
      kernelName: SWIGLU,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const { g, u } = inputs as { g: tf.TensorInfo; u: tf.TensorInfo };
        if (wasm) {
          const b = backend as unknown as WasmBackendLike;
          // The output first: allocating may grow the heap, which detaches earlier views of it.
          const out = b.makeOutput([...g.shape], 'float32');
          forward(b.typedArrayFromHeap(g), b.typedArrayFromHeap(u), b.typedArrayFromHeap(out));
          return out;
        }
        const b = backend as unknown as CpuBackendLike;
        const y = new Float32Array(g.shape.reduce((p, n) => p * n, 1));
        forward(b.data.get(g.dataId).values, b.data.get(u.dataId).values, y);
        return b.makeTensorInfo([...g.shape], 'float32', y);
      },
    });
    tf.registerKernel({
      kernelName: SWIGLU_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const { dy, g, u } = inputs as { dy: tf.TensorInfo; g: tf.TensorInfo; u: tf.TensorInfo };
        if (wasm) {
          const b = backend as unknown as WasmBackendLike;
          const dgo = b.makeOutput([...g.shape], 'float32');
          const duo = b.makeOutput([...g.shape], 'float32');
          const v = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
          backward(v(dy), v(g), v(u), v(dgo), v(duo));
          return [dgo, duo];
        }
        const b = backend as unknown as CpuBackendLike;
        const n = g.shape.reduce((p, k) => p * k, 1);
        const dg = new Float32Array(n);
        const du = new Float32Array(n);
        const v = (t: tf.TensorInfo) => b.data.get(t.dataId).values;
        backward(v(dy), v(g), v(u), dg, du);
        return [b.makeTensorInfo([...g.shape], 'float32', dg), b.makeTensorInfo([...g.shape], 'float32', du)];
      },
    });
  }
  if (!tf.getGradient(SWIGLU))
    tf.registerGradient({
      kernelName: SWIGLU,
      inputsToSave: ['g', 'u'],
      gradFunc: (dy, saved) => {
        const [g, u] = saved as [tf.Tensor, tf.Tensor];
        const [dg, du] = tf.engine().runKernel(SWIGLU_GRAD, { dy: dy as tf.Tensor, g, u }) as [
          tf.Tensor,
          tf.Tensor,
        ];
        return { g: () => dg!, u: () => du! };
      },
    });
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
