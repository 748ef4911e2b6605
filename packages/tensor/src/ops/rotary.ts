import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/** tfjs kernel name of {@link rotaryHalf}'s one-pass kernel (registered for cpu and wasm). */
export const ROTARY_HALF = 'MmesidRotaryHalf';

const f = Math.fround;

/**
 * out = x c + rotate_half(x) s over the last axis (D, halves h = D / 2), for x [B, H, T, D] and
 * c, s [Bc, T, D] with Bc = 1 or B; `transposed` applies the transposed map (the gradient in x):
 * out_i = x_i c_i + x_{i+h} s_{i+h} (i < h), x_i c_i - x_{i-h} s_{i-h} (i >= h). Each output is
 * f(f(a) + f(b)), the composite's rounding, so the forward has the composite's bits.
 */
function rotate(
  x: ArrayLike<number>,
  c: ArrayLike<number>,
  s: ArrayLike<number>,
  shape: readonly number[],
  cBatch: number,
  transposed: boolean,
  out: Float32Array,
): void {
  const [B, H, T, D] = shape as [number, number, number, number];
  const h = D / 2;
  for (let b = 0; b < B; b++) {
    const cb = (cBatch === 1 ? 0 : b) * T * D;
    for (let hd = 0; hd < H; hd++)
      for (let t = 0; t < T; t++) {
        const o = ((b * H + hd) * T + t) * D;
        const co = cb + t * D;
        for (let i = 0; i < h; i++) {
          const x1 = x[o + i]!;
          const x2 = x[o + i + h]!;
          if (!transposed) {
            out[o + i] = f(x1 * c[co + i]!) - f(x2 * s[co + i]!);
            out[o + i + h] = f(x2 * c[co + i + h]!) + f(x1 * s[co + i + h]!);
          } else {
            out[o + i] = f(x1 * c[co + i]!) + f(x2 * s[co + i + h]!);
            out[o + i + h] = f(x2 * c[co + i + h]!) - f(x1 * s[co + i]!);
          }
        }
      }
  }
}

type Attrs = { transposed: boolean };

/** Registers the kernel (and its gradient) for cpu and wasm; each only once. */
export function registerRotaryHalf(): void {
  registerHostKernel<Attrs>(
    ROTARY_HALF,
    {
      outputs: ({ x }) => [{ shape: [...x!.shape], dtype: 'float32' }],
      run: ({ x, cos, sin }, { x: xi, cos: ci }, { transposed }, [out]) =>
        rotate(x!, cos!, sin!, xi!.shape, ci!.shape[0]!, transposed, out as Float32Array),
    },
    {
      // The gradient in x is the transposed rotation (the same kernel); not one gradient kernel.
      gradient: {
        inputsToSave: ['x', 'cos', 'sin'],
        gradFunc: (dy, saved, attrs) => {
          const [x, cos, sin] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const { transposed } = attrs as unknown as Attrs;
          const g = dy as tf.Tensor;
          // The tables' gradients (rarely needed: they are usually constants) from the composite.
          const tableGrad = (which: 'cos' | 'sin') => () =>
            tf.tidy(() => {
              if (transposed)
                throw new RangeError('rotaryHalf: no gradient in cos/sin through the transposed rotation');
              const other = which === 'cos' ? x : rotateHalfAny(x);
              const per = tf.sum(tf.mul(g, other), 1); // [B, T, D]
              return cos.shape[0] === 1 && x.shape[0] !== 1 ? tf.sum(per, 0, true) : per;
            });
          return {
            x: () =>
              tf
                .engine()
                .runKernel(ROTARY_HALF, { x: g, cos, sin }, { transposed: !transposed }) as tf.Tensor,
            cos: tableGrad('cos'),
            sin: tableGrad('sin'),
          };
        },
      },
    },
  );
}

/** rotate_half(x) = concat(-x2, x1) over the last axis. */
function rotateHalfAny(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = x.shape[x.rank - 1]!;
    const [x1, x2] = tf.split(x, [d / 2, d / 2], -1) as [tf.Tensor, tf.Tensor];
    return tf.concat([tf.neg(x2), x1], -1);
  });
}

/** The composite form of {@link rotaryHalf}: x c + rotate_half(x) s with c, s broadcast over heads. */
export function rotaryHalfComposite(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const c = tf.expandDims(cos, 1);
    const s = tf.expandDims(sin, 1);
    return tf.add(tf.mul(x, c), tf.mul(rotateHalfAny(x), s));
  });
}

/**
 * Rotary position embedding in the rotate-half convention (Hugging Face Llama's
 * `apply_rotary_pos_emb`): x cos + rotate_half(x) sin with rotate_half(x) = concat(-x2, x1), for
 * float32 x [B, H, T, D] and cos, sin [B or 1, T, D] (broadcast over the heads). One kernel
 * forward and one backward on cpu and wasm (the forward has the composite's bits; the gradient in
 * x is the transposed rotation), the composite (eight kernels forward) elsewhere. Differentiable.
 * The caller owns the result.
 */
export function rotaryHalf(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const [B, , T, D] = x.shape as number[];
  const ok =
    x.rank === 4 &&
    x.dtype === 'float32' &&
    D! % 2 === 0 &&
    cos.rank === 3 &&
    (cos.shape[0] === B || cos.shape[0] === 1) &&
    cos.shape[1] === T &&
    cos.shape[2] === D &&
    sin.rank === 3 &&
    sin.shape.every((n, i) => n === cos.shape[i]);
  if (!ok)
    throw new RangeError(
      `rotaryHalf: expected float32 x [B, H, T, D] (D even) and cos, sin [B or 1, T, D], got ${x.dtype} [${x.shape}], [${cos.shape}], [${sin.shape}]`,
    );
  if (tf.getKernel(ROTARY_HALF, tf.getBackend()) && cos.dtype === 'float32' && sin.dtype === 'float32')
    return tf.engine().runKernel(ROTARY_HALF, { x, cos, sin }, { transposed: false }) as tf.Tensor;
  return rotaryHalfComposite(x, cos, sin);
}
