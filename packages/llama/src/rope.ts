/**
 * Rotary position embeddings in Hugging Face's "rotate half" convention: dimension i of a head is
 * rotated together with dimension i + head_dim/2, by the angle position * inv_freq[i].
 */
import { gatherRows, rotaryHalf, tf } from '@mmesid/tensor';
import type { LlamaConfig } from './config.js';

/**
 * The inverse frequencies `inv_freq[i] = 1 / theta^(2i / head_dim)` for i < head_dim/2, with the
 * config's `rope_scaling` applied exactly as `transformers` does (`_compute_default_rope_parameters`,
 * `_compute_linear_scaling_rope_parameters`, `_compute_llama3_parameters`):
 *
 * - `linear`: every frequency divided by `factor`.
 * - `llama3`: with wavelength w = 2π / inv_freq, L = original_max_position_embeddings,
 *   frequencies with w > L / low_freq_factor are divided by `factor`, those with
 *   w < L / high_freq_factor are kept, and those in between are blended with
 *   s = (L / w - low_freq_factor) / (high_freq_factor - low_freq_factor):
 *   (1 - s) · inv_freq / factor + s · inv_freq.
 *
 * Computed in float64 and rounded once to float32 (PyTorch computes the same formula in float32; the
 * two differ by at most an ulp or so, far below any test tolerance).
 *
 * @example
 * computeInvFreq(cfg); // Float32Array of length head_dim / 2
 */
export function computeInvFreq(
  cfg: Pick<LlamaConfig, 'head_dim' | 'rope_theta' | 'rope_scaling'>,
): Float32Array {
  const dim = cfg.head_dim;
  const half = dim / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / cfg.rope_theta ** ((2 * i) / dim);
  const rs = cfg.rope_scaling;
  if (rs?.rope_type === 'linear') {
    for (let i = 0; i < half; i++) out[i] = out[i]! / rs.factor;
  } else if (rs?.rope_type === 'llama3') {
    const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: L } = rs;
    const lowFreqWavelen = L / lo;
    const highFreqWavelen = L / hi;
    for (let i = 0; i < half; i++) {
      const f = out[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowFreqWavelen) out[i] = f / factor;
      else if (wavelen < highFreqWavelen) out[i] = f;
      else {
        const s = (L / wavelen - lo) / (hi - lo);
        out[i] = ((1 - s) * f) / factor + s * f;
      }
    }
  }
  return Float32Array.from(out);
}

/**
 * cos and sin tables for the given positions: each [B, T, head_dim], the half-size angle table
 * repeated twice along the last axis (as `torch.cat((freqs, freqs), -1)`). Positions are int32 [B, T].
 * Returns new tensors owned by the caller.
 */
export function ropeCosSin(positions: tf.Tensor, invFreq: tf.Tensor1D): { cos: tf.Tensor; sin: tf.Tensor } {
  return tf.tidy(() => {
    const angles = tf.mul(tf.expandDims(tf.cast(positions, 'float32'), -1), invFreq); // [B, T, half]
    const emb = tf.concat([angles, angles], -1);
    return { cos: tf.cos(emb), sin: tf.sin(emb) };
  });
}

/**
 * Host-side cos/sin tables of `angle = fround(position * inv_freq)`, computed in float64 and rounded
 * to float32, grown on demand. Used instead of on-device `tf.sin`/`tf.cos` because GPU sine and cosine
 * lose accuracy as the angle grows (on WebGPU over SwiftShader the logits drifted by 2e-3 at position
 * 60); with the table every backend gets the same correctly rounded values.
 */
export class RopeTable {
  private cosT = new Float32Array(0);
  private sinT = new Float32Array(0);
  private rows = 0;

  constructor(readonly invFreq: Float32Array) {}

  /** Tables for positions 0..n-1, each [n * head_dim/2] row-major (views; do not modify). */
  upTo(n: number): { cos: Float32Array; sin: Float32Array } {
    const half = this.invFreq.length;
    if (n > this.rows) {
      const rows = Math.max(n, this.rows * 2, 64);
      const cos = new Float32Array(rows * half);
      const sin = new Float32Array(rows * half);
      cos.set(this.cosT);
      sin.set(this.sinT);
      for (let p = this.rows; p < rows; p++) {
        for (let i = 0; i < half; i++) {
          const a = Math.fround(p * this.invFreq[i]!);
          cos[p * half + i] = Math.cos(a);
          sin[p * half + i] = Math.sin(a);
        }
      }
      this.cosT = cos;
      this.sinT = sin;
      this.rows = rows;
    }
    return { cos: this.cosT.subarray(0, n * half), sin: this.sinT.subarray(0, n * half) };
  }

  /**
   * cos and sin [B, T, head_dim] for int32 positions [B, T] that are all below `limit`, gathered from
   * the table (same layout as {@link ropeCosSin}). Returns new tensors owned by the caller.
   */
  gather(positions: tf.Tensor, limit: number): { cos: tf.Tensor; sin: tf.Tensor } {
    const half = this.invFreq.length;
    const { cos, sin } = this.upTo(limit);
    // Rows [limit, head_dim] with each half-row written twice on the host, then one row gather
    // (GatherNd): the same numbers as gathering [limit, half] and concatenating it with itself, in
    // 1 kernel instead of 2 (tfjs-backend-wasm's Concat over a last axis of head_dim/2 copies row by
    // row in JS: ~25 ms per batch of 64 x 8 positions in the evaluation profile).
    const twice = (table: Float32Array) => {
      const out = new Float32Array(limit * 2 * half);
      for (let p = 0; p < limit; p++) {
        const row = table.subarray(p * half, (p + 1) * half);
        out.set(row, 2 * p * half);
        out.set(row, (2 * p + 1) * half);
      }
      return out;
    };
    return tf.tidy(() => {
      const ids = tf.reshape(positions, [-1]) as tf.Tensor1D;
      const pick = (table: Float32Array) =>
        tf.reshape(gatherRows(tf.tensor2d(twice(table), [limit, 2 * half]), ids), [
          ...positions.shape,
          2 * half,
        ]);
      return { cos: pick(cos), sin: pick(sin) };
    });
  }
}

/** `concat(-x2, x1)` over the last axis, where x1, x2 are its halves. */
export function rotateHalf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const d = x.shape[x.rank - 1]!;
    const [x1, x2] = tf.split(x, [d / 2, d / 2], -1) as [tf.Tensor, tf.Tensor];
    return tf.concat([tf.neg(x2), x1], -1);
  });
}

/**
 * Applies RoPE to x [B, heads, T, head_dim] with cos/sin [B, T, head_dim]: x·cos + rotate_half(x)·sin.
 * Differentiable; returns a new tensor.
 */
export function applyRotary(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  // One kernel each way on cpu/wasm (@mmesid/tensor's rotaryHalf), the composite elsewhere.
  return rotaryHalf(x, cos, sin);
}
