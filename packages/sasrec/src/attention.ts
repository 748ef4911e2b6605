import { Linear, Module, type Rng, ShapeError, seededDropout, tf, xavierNormal } from '@mmesid/tensor';

/**
 * Causal multi-head self-attention laid out as PyTorch's `nn.MultiheadAttention`, which the
 * reference SASRec code uses: `in_proj_weight` [3d, d] (query, key, value rows in that order),
 * `in_proj_bias` [3d], `out_proj` (weight [d, d], bias [d]).
 *
 * SASRec (Kang & McAuley 2018, Eq. 2 and the reference code) takes the query from the
 * layer-normed input and the keys and values from the input itself. Position i attends to
 * positions j <= i that hold an item; a padded position attends only to itself (its output is
 * zeroed by the timeline mask afterwards), so no softmax row is empty. Masking padded keys
 * (which the reference code does not do) is what makes the outputs independent of how much
 * left padding a batch has.
 */
export class CausalSelfAttention extends Module {
  readonly in_proj_weight: tf.Variable;
  readonly in_proj_bias: tf.Variable;
  readonly out_proj: Linear;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    readonly dropout: number,
    rng: Rng | null,
  ) {
    super();
    if (dim % numHeads !== 0)
      throw new ShapeError(`attention: dim ${dim} is not divisible by numHeads ${numHeads}`);
    // As the reference: xavier-normal on every matrix (its main.py), zero biases (MultiheadAttention's
    // own init). Without an rng everything starts at zero, to be loaded from a checkpoint.
    this.in_proj_weight = this.param(
      'in_proj_weight',
      rng ? xavierNormal()([3 * dim, dim], rng) : tf.zeros([3 * dim, dim]),
    );
    this.in_proj_bias = this.param('in_proj_bias', tf.zeros([3 * dim]));
    this.out_proj = this.setModule('out_proj', new Linear(dim, dim, { skipInit: true }));
    if (rng) {
      const w = xavierNormal()([dim, dim], rng);
      this.out_proj.weight.assign(w);
      w.dispose();
    }
  }

  /**
   * @param query the layer-normed input [B, L, d]
   * @param x the block input [B, L, d] (keys and values)
   * @param bias additive attention bias [B, 1, L, L] (0 where allowed, a large negative elsewhere)
   * @param rng dropout stream, null in evaluation
   */
  forward(query: tf.Tensor3D, x: tf.Tensor3D, bias: tf.Tensor4D, rng: Rng | null): tf.Tensor3D {
    return tf.tidy(() => {
      const [B, L, d] = x.shape;
      const h = this.numHeads;
      const dh = d / h;
      const wq = this.in_proj_weight.slice([0, 0], [d, d]) as tf.Tensor2D;
      const wkv = this.in_proj_weight.slice([d, 0], [2 * d, d]) as tf.Tensor2D;
      const bq = this.in_proj_bias.slice([0], [d]);
      const bkv = this.in_proj_bias.slice([d], [2 * d]);
      const q2 = tf.add(tf.matMul(query.reshape([B * L, d]), wq, false, true), bq) as tf.Tensor2D;
      const kv = tf.add(tf.matMul(x.reshape([B * L, d]), wkv, false, true), bkv);
      const [k2, v2] = tf.split(kv, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const heads = (t: tf.Tensor2D) =>
        h === 1 ? t.reshape([B, 1, L, d]) : t.reshape([B, L, h, dh]).transpose([0, 2, 1, 3]);
      const q = tf.mul(heads(q2), 1 / Math.sqrt(dh)) as tf.Tensor4D;
      const k = heads(k2) as tf.Tensor4D;
      const v = heads(v2) as tf.Tensor4D;
      const scores = tf.add(tf.matMul(q, k, false, true), bias);
      const weights = seededDropout(tf.softmax(scores, -1), this.dropout, rng) as tf.Tensor4D;
      const ctx = tf.matMul(weights, v);
      const merged = (h === 1 ? ctx : ctx.transpose([0, 2, 1, 3])).reshape([B * L, d]) as tf.Tensor2D;
      return this.out_proj.forward(merged).reshape([B, L, d]) as tf.Tensor3D;
    });
  }
}

/**
 * The additive attention bias for left-padded item ids: `valid` [B, L] is 1 where a column holds an
 * item. Returns [B, 1, L, L]: 0 where query i may see key j (j <= i and j holds an item, or j == i),
 * -1e9 elsewhere. Built from float arithmetic only (tfjs-backend-wasm mishandles `bandPart` on bool).
 */
export function causalPaddingBias(valid: tf.Tensor2D): tf.Tensor4D {
  const [B, L] = valid.shape;
  const lower = new Float32Array(L * L);
  const eye = new Float32Array(L * L);
  for (let i = 0; i < L; i++) {
    eye[i * L + i] = 1;
    for (let j = 0; j <= i; j++) lower[i * L + j] = 1;
  }
  return tf.tidy(() => {
    const seen = tf.mul(tf.tensor3d(lower, [1, L, L]), valid.reshape([B, 1, L]));
    const allowed = tf.minimum(tf.add(seen, tf.tensor3d(eye, [1, L, L])), 1);
    return tf.mul(tf.sub(allowed, 1), 1e9).reshape([B, 1, L, L]) as tf.Tensor4D;
  });
}
