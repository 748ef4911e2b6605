import { tf } from '../tf.js';
import { registerKernelGradient } from './host-backends.js';

/** tfjs kernel names of {@link linear}'s kernels (registered for cpu and wasm). */
export const LINEAR = 'MmesidLinear';
export const LINEAR_GRAD = 'MmesidLinearGrad';

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The backend's own BatchMatMul on [1, M, K] x [1, N, K]^T-style views of the same data (no copy). */
function product(
  args: KernelArgs,
  a: tf.TensorInfo,
  aShape: [number, number],
  b: tf.TensorInfo,
  bShape: [number, number],
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const kernel = tf.getKernel('BatchMatMul', tf.getBackend())!;
  return kernel.kernelFunc({
    inputs: {
      a: { dataId: a.dataId, shape: [1, ...aShape], dtype: a.dtype },
      b: { dataId: b.dataId, shape: [1, ...bShape], dtype: b.dtype },
    },
    backend: args.backend,
    attrs: { transposeA, transposeB },
  }) as tf.TensorInfo;
}

const rowsOf = (x: tf.TensorInfo) => x.shape.slice(0, -1).reduce((p, n) => p * n, 1);

/** Registers the kernels (and the gradient) for cpu and wasm; each only once. */
export function registerLinear(): void {
  for (const backendName of ['cpu', 'wasm'] as const) {
    if (tf.getKernel(LINEAR, backendName)) continue;
    tf.registerKernel({
      kernelName: LINEAR,
      backendName,
      kernelFunc: (args) => {
        const { x, w } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
        const [out, inF] = w.shape as [number, number];
        const M = rowsOf(x);
        const y = product(args, x, [M, inF], w, [out, inF], false, true);
        return { dataId: y.dataId, shape: [...x.shape.slice(0, -1), out], dtype: 'float32' };
      },
    });
    tf.registerKernel({
      kernelName: LINEAR_GRAD,
      backendName,
      kernelFunc: (args) => {
        const { dy, x, w } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; w: tf.TensorInfo };
        const [out, inF] = w.shape as [number, number];
        const M = rowsOf(x);
        const dx = product(args, dy, [M, out], w, [out, inF], false, false); // dy W
        const dw = product(args, dy, [M, out], x, [M, inF], true, false); // dy^T x
        return [
          { dataId: dx.dataId, shape: [...x.shape], dtype: 'float32' },
          { dataId: dw.dataId, shape: [out, inF], dtype: 'float32' },
        ];
      },
    });
  }
  registerKernelGradient(LINEAR, { kernel: LINEAR_GRAD, inputs: ['x', 'w'] });
}

/** The composite form of {@link linear}: reshape to rows, `matMul(x, w, false, true)`, reshape back. */
export function linearComposite(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [out, inF] = w.shape as [number, number];
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inF]);
    const y = tf.matMul(x2 as tf.Tensor2D, w as tf.Tensor2D, false, true);
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), out]);
  });
}

/**
 * x W^T for float32 x [..., in] and W [out, in] (a bias-free `Linear`): one kernel forward (the
 * backend's own BatchMatMul on a [1, rows, in] view of x, no Reshape around it) and one backward
 * (dx = dy W and dW = dy^T x, the same two products tfjs's gradient runs) on cpu and wasm; the
 * composite (reshape, matMul and its reshapes) elsewhere. The same products as the composite, so
 * the same bits. The caller owns the result.
 */
export function linear(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  if (x.rank < 1 || w.rank !== 2 || x.shape[x.rank - 1] !== w.shape[1])
    throw new RangeError(`linear: expected x [..., in] and w [out, in], got [${x.shape}] and [${w.shape}]`);
  if (x.dtype === 'float32' && w.dtype === 'float32' && x.rank >= 2 && tf.getKernel(LINEAR, tf.getBackend()))
    return tf.engine().runKernel(LINEAR, { x, w }) as tf.Tensor;
  return linearComposite(x, w);
}
