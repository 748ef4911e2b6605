import { callChild, Linear, type LinearOptions, Module, tf } from '@mmesid/tensor';
import type { LlamaConfig } from './config.js';
import type { KVCache } from './kv-cache.js';
import { applyRotary } from './rope.js';

/** What a decoder layer hands its attention: rotary tables, mask bias and the cache slot. */
export interface AttentionContext {
  /** [B, T, head_dim] each, for the new tokens' positions. */
  cos: tf.Tensor;
  sin: tf.Tensor;
  /** Additive bias broadcastable to [B, 1, 1, T, S], or null for "attend to everything". */
  bias: tf.Tensor | null;
  cache?: KVCache;
  layerIndex: number;
}

/**
 * Llama self-attention (`self_attn`): `q_proj`, `k_proj`, `v_proj`, `o_proj` without bias,
 * rotate-half RoPE on q and k, grouped-query attention (query head h reads key/value head
 * h / (heads / kv_heads), the same as Hugging Face's `repeat_kv`), softmax(q kᵀ / √head_dim) v.
 *
 * GQA is computed by folding each group of query heads into the query-length axis instead of copying
 * the key/value heads, which is the same arithmetic with less memory.
 */
export class LlamaAttention extends Module {
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;

  constructor(cfg: LlamaConfig, init: LinearOptions) {
    super();
    this.numHeads = cfg.num_attention_heads;
    this.numKvHeads = cfg.num_key_value_heads;
    this.headDim = cfg.head_dim;
    const h = cfg.hidden_size;
    const opts = { ...init, bias: false };
    this.setModule('q_proj', new Linear(h, this.numHeads * this.headDim, opts));
    this.setModule('k_proj', new Linear(h, this.numKvHeads * this.headDim, opts));
    this.setModule('v_proj', new Linear(h, this.numKvHeads * this.headDim, opts));
    this.setModule('o_proj', new Linear(this.numHeads * this.headDim, h, opts));
  }

  /** x [B, T, hidden] -> [B, T, hidden]. Appends this layer's keys/values to `ctx.cache` when given. */
  forward(x: tf.Tensor, ctx: AttentionContext): tf.Tensor {
    return tf.tidy(() => {
      const [B, T] = x.shape as [number, number, number];
      const H = this.numHeads;
      const KV = this.numKvHeads;
      const D = this.headDim;
      const rep = H / KV;
      const heads = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [B, T, n, D]), [0, 2, 1, 3]);
      const q = applyRotary(heads(callChild(this, 'q_proj', x), H), ctx.cos, ctx.sin);
      let k = applyRotary(heads(callChild(this, 'k_proj', x), KV), ctx.cos, ctx.sin);
      let v = heads(callChild(this, 'v_proj', x), KV);
      if (ctx.cache) ({ key: k, value: v } = ctx.cache.update(ctx.layerIndex, k, v));
      const S = k.shape[2]!;
      const qg = tf.reshape(q, [B * KV, rep * T, D]) as tf.Tensor3D;
      const kg = tf.reshape(k, [B * KV, S, D]) as tf.Tensor3D;
      const vg = tf.reshape(v, [B * KV, S, D]) as tf.Tensor3D;
      let scores = tf.reshape(tf.mul(tf.matMul(qg, kg, false, true), 1 / Math.sqrt(D)), [B, KV, rep, T, S]);
      if (ctx.bias) scores = tf.add(scores, ctx.bias);
      const probs = tf.reshape(tf.softmax(scores), [B * KV, rep * T, S]) as tf.Tensor3D;
      const out = tf.reshape(tf.matMul(probs, vg), [B, H, T, D]);
      const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B, T, H * D]);
      return callChild(this, 'o_proj', merged);
    });
  }
}
