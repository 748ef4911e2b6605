import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';
import { WASM_BASE64 } from './simd/adamw-update.wasm.js';
import { heapModule, type WasmHeapBackend } from './simd/heap-module.js';

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

/** The export of simd/adamw-update.wat (offsets into the heap, then the update's float32 scalars). */
interface SimdExports {
  update(
    p: number,
    m: number,
    v: number,
    g: number,
    n: number,
    po: number,
    mo: number,
    vo: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    decay: number,
    step: number,
    q: number,
    eps: number,
    hasDecay: number,
  ): void;
}

/** The SIMD module on this backend's heap, or null (then the JS loop runs on the heap). */
export function adamwUpdateSimd(backend: unknown): SimdExports | null {
  return heapModule<SimdExports>(backend, WASM_BASE64);
}

/** The kernel on tfjs-backend-wasm: the SIMD module in place on the heap (same bits as the JS loop). */
function wasmUpdate(
  b: WasmHeapBackend,
  ins: Record<string, tf.TensorInfo>,
  a: AdamWUpdateAttrs,
): tf.TensorInfo[] {
  const { p, m, v, g } = ins as Record<'p' | 'm' | 'v' | 'g', tf.TensorInfo>;
  // Every output before any view: allocating may grow the heap.
  const outs = [0, 1, 2].map(() => b.makeOutput([...p.shape], 'float32'));
  const n = p.shape.reduce((x, y) => x * y, 1);
  const simd = adamwUpdateSimd(b);
  if (n === 0) return outs;
  if (!simd) {
    const [po, mo, vo] = outs.map((o) => b.typedArrayFromHeap(o) as Float32Array);
    const [pv, mv, vv, gv] = [p, m, v, g].map((t) => b.typedArrayFromHeap(t));
    update(pv!, mv!, vv!, gv!, a, po!, mo!, vo!);
    return outs;
  }
  const off = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
  simd.update(
    off(p),
    off(m),
    off(v),
    off(g),
    n,
    off(outs[0]!),
    off(outs[1]!),
    off(outs[2]!),
    f(a.beta1),
    f(1 - a.beta1),
    f(a.beta2),
    f(1 - a.beta2),
    f(1 - a.lrDecay),
    f(a.stepSize),
    f(a.sqrtBc2),
    f(a.eps),
    a.lrDecay ? 1 : 0,
  );
  return outs;
}

/**
 * Registers the one-pass kernel of {@link adamwUpdate} for the cpu backend (a JS loop over its
 * buffers) and the wasm backend (the WebAssembly SIMD module of `simd/adamw-update.wat`, in place
 * on the heap; the JS loop where that module cannot run). Called by `initBackend`; safe to call
 * more than once.
 */
export function registerAdamWUpdate(): void {
  registerHostKernel<AdamWUpdateAttrs>(
    ADAMW_UPDATE,
    {
      outputs: ({ p }) => [0, 1, 2].map(() => ({ shape: p!.shape, dtype: 'float32' as const })),
      run: ({ p, m, v, g }, _inputs, attrs, outs) => {
        const [po, mo, vo] = outs as [Float32Array, Float32Array, Float32Array];
        update(p!, m!, v!, g!, attrs, po, mo, vo);
      },
    },
    { backends: ['cpu'] },
  );
  if (!tf.getKernel(ADAMW_UPDATE, 'wasm'))
    tf.registerKernel({
      kernelName: ADAMW_UPDATE,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) =>
        wasmUpdate(
          backend as WasmHeapBackend,
          inputs as Record<string, tf.TensorInfo>,
          attrs as unknown as AdamWUpdateAttrs,
        ),
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
