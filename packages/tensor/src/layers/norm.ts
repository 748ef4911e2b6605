import { expectLastDim, Module } from '../module.js';
import { rmsNorm } from '../ops/rms-norm.js';
import { tf } from '../tf.js';

/** Layer normalisation over the last dimension (PyTorch nn.LayerNorm, biased variance). */
export class LayerNorm extends Module {
  weight: tf.Variable | null;
  bias: tf.Variable | null;

  constructor(
    readonly dim: number,
    readonly opts: { eps?: number; affine?: boolean; bias?: boolean } = {},
  ) {
    super();
    const affine = opts.affine ?? true;
    this.weight = affine ? this.param('weight', tf.ones([dim])) : null;
    this.bias = affine && opts.bias !== false ? this.param('bias', tf.zeros([dim])) : null;
  }

  forward(x: tf.Tensor): tf.Tensor {
    expectLastDim(x, this.dim, 'LayerNorm input');
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.opts.eps ?? 1e-5)));
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}

/** Root-mean-square normalisation (Llama): x / sqrt(mean(x^2) + eps) * weight. */
export class RMSNorm extends Module {
  weight: tf.Variable;

  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.param('weight', tf.ones([dim]));
  }

  forward(x: tf.Tensor): tf.Tensor {
    expectLastDim(x, this.dim, 'RMSNorm input');
    // One kernel each way on cpu/wasm (ops/rms-norm.ts), the composite elsewhere.
    return rmsNorm(x, this.weight, this.eps);
  }
}
