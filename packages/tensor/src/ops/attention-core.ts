import { tf } from '../tf.js';
import type { CpuBackendLike, WasmBackendLike } from './host-backends.js';

/** tfjs kernel names of {@link attentionCore}'s kernels (registered for cpu and wasm). */
export const ATTENTION_CORE = 'MmesidAttentionCore';
export const ATTENTION_CORE_GRAD = 'MmesidAttentionCoreGrad';

type Attrs = { scale: number; hasBias: boolean };
interface Dims {
  B: number;
  H: number;
  KV: number;
  T: number;
  S: number;
  D: number;
  /** Bias batch and query extents (1 when broadcast). */
  Bb: number;
  Tb: number;
}

function dimsOf(q: tf.TensorInfo, k: tf.TensorInfo, bias: tf.TensorInfo | null): Dims {
  const [B, H, T, D] = q.shape as [number, number, number, number];
  const [, KV, S] = k.shape as [number, number, number, number];
  return { B, H, KV, T, S, D, Bb: bias ? bias.shape[0]! : 1, Tb: bias ? bias.shape[3]! : 1 };
}

/** Softmax row p [S] of query (b, h, t): scale q.k_j + bias_j, in float64. */
function probs(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  d: Dims,
  b: number,
  h: number,
  t: number,
  scale: number,
  p: Float64Array,
): void {
  const { H, KV, T, S, D, Bb, Tb } = d;
  const kv = Math.floor(h / (H / KV));
  const qo = ((b * H + h) * T + t) * D;
  const ko = (b * KV + kv) * S * D;
  const bo = ((Bb === 1 ? 0 : b) * Tb + (Tb === 1 ? 0 : t)) * S;
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < S; j++) {
    let s = 0;
    for (let e = 0; e < D; e++) s += q[qo + e]! * k[ko + j * D + e]!;
    s = s * scale + (bias ? bias[bo + j]! : 0);
    p[j] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let j = 0; j < S; j++) {
    const e = Math.exp(p[j]! - max);
    p[j] = e;
    sum += e;
  }
  for (let j = 0; j < S; j++) p[j] = p[j]! / sum;
}

/** out [B, T, H * D]: softmax(scale q k^T + bias) v per head, the heads merged. */
function forward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  d: Dims,
  scale: number,
  out: Float32Array,
): void {
  const { B, H, KV, T, S, D } = d;
  const p = new Float64Array(S);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const vo = (b * KV + Math.floor(h / (H / KV))) * S * D;
      for (let t = 0; t < T; t++) {
        probs(q, k, bias, d, b, h, t, scale, p);
        acc.fill(0);
        for (let j = 0; j < S; j++) {
          const pj = p[j]!;
          for (let e = 0; e < D; e++) acc[e]! += pj * v[vo + j * D + e]!;
        }
        const oo = (b * T + t) * H * D + h * D;
        for (let e = 0; e < D; e++) out[oo + e] = acc[e]!;
      }
    }
}

/** dq [B, H, T, D], dk and dv [B, KV, S, D] from dy [B, T, H * D] (probabilities recomputed). */
function backward(
  dy: ArrayLike<number>,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  d: Dims,
  scale: number,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
): void {
  const { B, H, KV, T, S, D } = d;
  const p = new Float64Array(S);
  const ds = new Float64Array(S);
  const dkAcc = new Float64Array(dk.length);
  const dvAcc = new Float64Array(dv.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kvo = (b * KV + Math.floor(h / (H / KV))) * S * D;
      for (let t = 0; t < T; t++) {
        probs(q, k, bias, d, b, h, t, scale, p);
        const go = (b * T + t) * H * D + h * D;
        const qo = ((b * H + h) * T + t) * D;
        let dot = 0;
        for (let j = 0; j < S; j++) {
          let dp = 0;
          for (let e = 0; e < D; e++) dp += dy[go + e]! * v[kvo + j * D + e]!;
          ds[j] = dp;
          dot += p[j]! * dp;
        }
        for (let e = 0; e < D; e++) {
          let s = 0;
          for (let j = 0; j < S; j++) s += p[j]! * (ds[j]! - dot) * k[kvo + j * D + e]!;
          dq[qo + e] = s * scale;
        }
        for (let j = 0; j < S; j++) {
          const g = p[j]! * (ds[j]! - dot) * scale;
          const pj = p[j]!;
          const o = kvo + j * D;
          for (let e = 0; e < D; e++) {
            dkAcc[o + e]! += g * q[qo + e]!;
            dvAcc[o + e]! += pj * dy[go + e]!;
          }
        }
      }
    }
  for (let i = 0; i < dk.length; i++) {
    dk[i] = dkAcc[i]!;
    dv[i] = dvAcc[i]!;
  }
}

/** Registers the kernels (and the gradient) for cpu and wasm; each only once. */
export function registerAttentionCore(): void {
  for (const backendName of ['cpu', 'wasm'] as const) {
    if (tf.getKernel(ATTENTION_CORE, backendName)) continue;
    const wasm = backendName === 'wasm';
    tf.registerKernel({
      kernelName: ATTENTION_CORE,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { q, k, v, bias } = inputs as Record<string, tf.TensorInfo>;
        const { scale, hasBias } = attrs as unknown as Attrs;
        const d = dimsOf(q!, k!, hasBias ? bias! : null);
        const shape = [d.B, d.T, d.H * d.D];
        if (wasm) {
          const b = backend as unknown as WasmBackendLike;
          // The output first: allocating may grow the heap, which detaches earlier views of it.
          const out = b.makeOutput(shape, 'float32');
          const h = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
          forward(h(q!), h(k!), h(v!), hasBias ? h(bias!) : null, d, scale, h(out));
          return out;
        }
        const b = backend as unknown as CpuBackendLike;
        const out = new Float32Array(shape[0]! * shape[1]! * shape[2]!);
        const h = (t: tf.TensorInfo) => b.data.get(t.dataId).values;
        forward(h(q!), h(k!), h(v!), hasBias ? h(bias!) : null, d, scale, out);
        return b.makeTensorInfo(shape, 'float32', out);
      },
    });
    tf.registerKernel({
      kernelName: ATTENTION_CORE_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, q, k, v, bias } = inputs as Record<string, tf.TensorInfo>;
        const { scale, hasBias } = attrs as unknown as Attrs;
        const d = dimsOf(q!, k!, hasBias ? bias! : null);
        if (wasm) {
          const b = backend as unknown as WasmBackendLike;
          const outs = [
            b.makeOutput([...q!.shape], 'float32'),
            b.makeOutput([...k!.shape], 'float32'),
            b.makeOutput([...v!.shape], 'float32'),
          ];
          const h = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
          backward(
            h(dy!),
            h(q!),
            h(k!),
            h(v!),
            hasBias ? h(bias!) : null,
            d,
            scale,
            h(outs[0]!),
            h(outs[1]!),
            h(outs[2]!),
          );
          return outs;
        }
        const b = backend as unknown as CpuBackendLike;
        const size = (t: tf.TensorInfo) => t.shape.reduce((p, n) => p * n, 1);
        const [dq, dk, dv] = [
          new Float32Array(size(q!)),
          new Float32Array(size(k!)),
          new Float32Array(size(v!)),
        ];
        const h = (t: tf.TensorInfo) => b.data.get(t.dataId).values;
        backward(h(dy!), h(q!), h(k!), h(v!), hasBias ? h(bias!) : null, d, scale, dq, dk, dv);
        return [
          b.makeTensorInfo([...q!.shape], 'float32', dq),
          b.makeTensorInfo([...k!.shape], 'float32', dk),
          b.makeTensorInfo([...v!.shape], 'float32', dv),
        ];
      },
    });
  }
  if (!tf.getGradient(ATTENTION_CORE))
    tf.registerGradient({
      kernelName: ATTENTION_CORE,
      inputsToSave: ['q', 'k', 'v', 'bias'],
      gradFunc: (dy, saved, attrs) => {
        const [q, k, v, bias] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const [dq, dk, dv] = tf
          .engine()
          .runKernel(
            ATTENTION_CORE_GRAD,
            { dy: dy as tf.Tensor, q, k, v, bias },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
        return {
          q: () => dq!,
          k: () => dk!,
          v: () => dv!,
          bias: () => {
            throw new RangeError('attentionCore: no gradient in the attention bias');
          },
        };
      },
    });
}

/**
 * The composite form of {@link attentionCore} (grouped-query heads folded into the query axis, as
 * @mmesid/llama's attention has always computed it).
 */
export function attentionCoreComposite(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor | null,
  scale: number,
): tf.Tensor {
  return tf.tidy(() => {
    const [B, H, T, D] = q.shape as [number, number, number, number];
    const [, KV, S] = k.shape as [number, number, number, number];
    const rep = H / KV;
    const qg = tf.reshape(q, [B * KV, rep * T, D]) as tf.Tensor3D;
    const kg = tf.reshape(k, [B * KV, S, D]) as tf.Tensor3D;
    const vg = tf.reshape(v, [B * KV, S, D]) as tf.Tensor3D;
    let scores = tf.reshape(tf.mul(tf.matMul(qg, kg, false, true), scale), [B, KV, rep, T, S]);
    if (bias) scores = tf.add(scores, bias);
    const probs = tf.reshape(tf.softmax(scores), [B * KV, rep * T, S]) as tf.Tensor3D;
    const out = tf.reshape(tf.matMul(probs, vg), [B, H, T, D]);
    return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B, T, H * D]);
  });
}

/**
 * Scaled dot-product attention with grouped-query heads: for q [B, H, T, D] and k, v [B, KV, S, D]
 * (query head h reads key/value head floor(h / (H / KV))) and an additive bias broadcastable as
 * [B or 1, 1, 1, T or 1, S] (or null), softmax(scale q k^T + bias) v with the heads merged:
 * [B, T, H * D]. One kernel forward and one backward (dq, dk, dv; the probabilities recomputed) on
 * cpu and wasm, sums in float64; the composite (about 15 kernels forward, 35 backward) elsewhere.
 * Differentiable in q, k and v (not in the bias). Equal to the composite up to float32 rounding.
 * The caller owns the result.
 */
export function attentionCore(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor | null,
  scale: number,
): tf.Tensor {
  const [B, H, T, D] = q.shape as number[];
  const [kb, KV, S, kd] = k.shape as number[];
  const ok =
    q.rank === 4 &&
    k.rank === 4 &&
    tf.util.arraysEqual(k.shape, v.shape) &&
    kb === B &&
    kd === D &&
    H! % KV! === 0 &&
    (!bias ||
      (bias.rank === 5 &&
        (bias.shape[0] === 1 || bias.shape[0] === B) &&
        bias.shape[1] === 1 &&
        bias.shape[2] === 1 &&
        (bias.shape[3] === 1 || bias.shape[3] === T) &&
        bias.shape[4] === S));
  if (!ok)
    throw new RangeError(
      `attentionCore: expected q [B, H, T, D], k and v [B, KV, S, D] with KV dividing H, bias [B or 1, 1, 1, T or 1, S]; got [${q.shape}], [${k.shape}], [${v.shape}], [${bias?.shape ?? 'none'}]`,
    );
  const f32 =
    q.dtype === 'float32' &&
    k.dtype === 'float32' &&
    v.dtype === 'float32' &&
    (!bias || bias.dtype === 'float32');
  if (f32 && tf.getKernel(ATTENTION_CORE, tf.getBackend())) {
    // The gradient saves every input, so a missing bias is passed as a placeholder the kernel skips.
    if (bias)
      return tf.engine().runKernel(ATTENTION_CORE, { q, k, v, bias }, { scale, hasBias: true }) as tf.Tensor;
    return tf.tidy(
      () =>
        tf
          .engine()
          .runKernel(
            ATTENTION_CORE,
            { q, k, v, bias: tf.zeros([1]) },
            { scale, hasBias: false },
          ) as tf.Tensor,
    );
  }
  return attentionCoreComposite(q, k, v, bias, scale);
}
