import { activation, callChild, LayerNorm, Linear, Module, type Rng, tf } from '@mmesid/tensor';
import type { ClipVisionConfig } from './clip-vision-config.js';

/** Bidirectional multi-head self-attention with HF CLIP names (`q_proj`, `k_proj`, `v_proj`, `out_proj`). */
export class ClipAttention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;
  private readonly heads: number;
  private readonly headDim: number;

  constructor(config: ClipVisionConfig, init: { rng?: Rng; skipInit?: boolean }) {
    super();
    const d = config.hiddenSize;
    this.heads = config.numAttentionHeads;
    this.headDim = d / this.heads;
    this.qProj = this.setModule('q_proj', new Linear(d, d, init));
    this.kProj = this.setModule('k_proj', new Linear(d, d, init));
    this.vProj = this.setModule('v_proj', new Linear(d, d, init));
    this.outProj = this.setModule('out_proj', new Linear(d, d, init));
  }

  /** [B, S, D] -> [B, S, D]: softmax(Q K^T / sqrt(d_head)) V over all positions. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [b, s, d] = x.shape as [number, number, number];
      const split = (t: tf.Tensor) =>
        tf.transpose(tf.reshape(t, [b, s, this.heads, this.headDim]), [0, 2, 1, 3]);
      // Projections are looked up at call time, so LoRA wrappers put in by replaceModule take effect.
      const q = split(tf.mul(callChild(this, 'q_proj', x), this.headDim ** -0.5));
      const k = split(callChild(this, 'k_proj', x));
      const v = split(callChild(this, 'v_proj', x));
      const probs = tf.softmax(tf.matMul(q, k, false, true), -1);
      const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [b, s, d]);
      return callChild(this, 'out_proj', ctx);
    });
  }
}

/** fc1 -> activation (quick_gelu in CLIP) -> fc2. */
export class ClipMlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(config: ClipVisionConfig, init: { rng?: Rng; skipInit?: boolean }) {
    super();
    this.fc1 = this.setModule('fc1', new Linear(config.hiddenSize, config.intermediateSize, init));
    this.fc2 = this.setModule('fc2', new Linear(config.intermediateSize, config.hiddenSize, init));
    this.act = activation(config.hiddenAct);
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => callChild(this, 'fc2', this.act(callChild(this, 'fc1', x))));
  }
}

/** Pre-LayerNorm transformer block: x + attn(LN1(x)), then x + mlp(LN2(x)). */
export class ClipEncoderLayer extends Module {
  readonly selfAttn: ClipAttention;
  readonly layerNorm1: LayerNorm;
  readonly mlp: ClipMlp;
  readonly layerNorm2: LayerNorm;

  constructor(config: ClipVisionConfig, init: { rng?: Rng; skipInit?: boolean }) {
    super();
    const eps = config.layerNormEps;
    this.selfAttn = this.setModule('self_attn', new ClipAttention(config, init));
    this.layerNorm1 = this.setModule('layer_norm1', new LayerNorm(config.hiddenSize, { eps }));
    this.mlp = this.setModule('mlp', new ClipMlp(config, init));
    this.layerNorm2 = this.setModule('layer_norm2', new LayerNorm(config.hiddenSize, { eps }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = tf.add(x, this.selfAttn.forward(this.layerNorm1.forward(x)));
      return tf.add(h, this.mlp.forward(this.layerNorm2.forward(h)));
    });
  }
}
