import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/** tfjs kernel name of {@link adamwUpdate}'s one-pass kernel (registered for cpu and wasm). */
export const ADAMW_UPDATE = 'MmesidAdamWUpdate';

/** The scalars of one AdamW update (see {@link adamwUpdate}). */
export interface AdamWUpdateAttrs {
  /** b1 and b2. */
  beta1: number;
  beta2: number;
  eps: number;
  /** lr * weight decay (0: no decay). */
  lrDecay: number;
  /** lr / (1 - b1^t). */
  stepSize: number;
  /** sqrt(1 - b2^t). */
  sqrtBc2: number;
}

const f = Math.fround;

/**
 * The update in float32 arithmetic, operation by operation in the composite's order (each
 * intermediate rounded to float32 as the backend's kernels round it), so both ways give the same bits.
 */
function update(
  p: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  g: ArrayLike<number>,
  a: AdamWUpdateAttrs,
  pOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
): void {
  const b1 = f(a.beta1);
  const c1 = f(1 - a.beta1);
  const b2 = f(a.beta2);
  const c2 = f(1 - a.beta2);
  const decay = f(1 - a.lrDecay);
  const step = f(a.stepSize);
  const q = f(a.sqrtBc2);
  const eps = f(a.eps);
  const n = pOut.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    const mi = f(f(m[i]! * b1) + f(gi * c1));
    const vi = f(f(v[i]! * b2) + f(f(gi * gi) * c2));
    const denom = f(f(f(Math.sqrt(vi)) / q) + eps);
    const pi = a.lrDecay ? f(p[i]! * decay) : p[i]!;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = f(pi - f(f(mi / denom) * step));
  }
}

/**
 * Registers the one-pass kernel of {@link adamwUpdate} for the cpu and wasm backends (a JS loop over
 * the backend's own buffers). Called by `initBackend`; safe to call more than once.
 */
export function registerAdamWUpdate(): void {
  registerHostKernel<AdamWUpdateAttrs>(ADAMW_UPDATE, {
    outputs: ({ p }) => [0, 1, 2].map(() => ({ shape: p!.shape, dtype: 'float32' as const })),
    run: ({ p, m, v, g }, _inputs, attrs, outs) => {
      const [po, mo, vo] = outs as [Float32Array, Float32Array, Float32Array];
      update(p!, m!, v!, g!, attrs, po, mo, vo);
    },
  });
}

/**
 * The composite form of {@link adamwUpdate} (8-10 kernels): what every backend without the
 * one-pass kernel runs, and the reference the kernel is tested against.
 */
export function adamwUpdateComposite(
  p: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  a: AdamWUpdateAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const decayed = a.lrDecay ? tf.mul(p, 1 - a.lrDecay) : p;
    const mNew = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const vNew = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const denom = tf.add(tf.div(tf.sqrt(vNew), a.sqrtBc2), a.eps);
    return [tf.sub(decayed, tf.mul(tf.div(mNew, denom), a.stepSize)), mNew, vNew] as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  });
}

/**
 * One AdamW update of a float32 parameter `p` with moments `m`, `v` and gradient `g` (all the same
 * shape), as PyTorch's `torch.optim.AdamW`:
 *   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2
 *   p' = p (1 - lr wd) - stepSize * m' / (sqrt(v') / sqrtBc2 + eps)
 * Returns [p', m', v'] (new tensors the caller owns). One kernel on cpu and wasm (one pass, float32
 * arithmetic in the composite's order: the same bits); the composite elsewhere.
 */
export function adamwUpdate(
  p: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  attrs: AdamWUpdateAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const same = [m, v, g].every((t) => t.shape.join() === p.shape.join());
  if (!same)
    throw new RangeError(
      `adamwUpdate: p, m, v and g must have one shape, got [${p.shape}], [${m.shape}], [${v.shape}], [${g.shape}]`,
    );
  if ([p, m, v, g].some((t) => t.dtype !== 'float32'))
    throw new RangeError('adamwUpdate: p, m, v and g must be float32');
  if (tf.getKernel(ADAMW_UPDATE, tf.getBackend()))
    return tf
      .engine()
      .runKernel(ADAMW_UPDATE, { p, m, v, g }, attrs as unknown as tf.NamedAttrMap) as unknown as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  return adamwUpdateComposite(p, m, v, g, attrs);
}
