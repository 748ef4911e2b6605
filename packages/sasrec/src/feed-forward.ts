import { Linear, Module, type Rng, seededDropout, tf, xavierNormal } from '@mmesid/tensor';

/**
 * SASRec's point-wise feed-forward network (Kang & McAuley 2018, Eq. 4):
 * F = W2 ReLU(W1 S + b1) + b2, applied to every position alone, with dropout after each layer and a
 * residual connection (Section III-D). Named `conv1`/`conv2` as the reference code's kernel-1
 * `Conv1d` layers; the weights are stored [out, in] (PyTorch's Conv1d adds a trailing axis of 1).
 */
export class PointWiseFeedForward extends Module {
  readonly conv1: Linear;
  readonly conv2: Linear;

  constructor(
    readonly dim: number,
    readonly dropout: number,
    rng: Rng | null,
  ) {
    super();
    const layer = (name: string) => {
      const lin = new Linear(dim, dim, rng ? { rng } : { skipInit: true });
      // The reference re-initialises every matrix xavier-normal and keeps Conv1d's default bias.
      if (rng) {
        const w = xavierNormal()([dim, dim], rng);
        lin.weight.assign(w);
        w.dispose();
      }
      return this.setModule(name, lin);
    };
    this.conv1 = layer('conv1');
    this.conv2 = layer('conv2');
  }

  /** `x + Dropout(W2 ReLU(Dropout(W1 x + b1)) + b2)` for x [B, L, d]; `rng` null in evaluation. */
  forward(x: tf.Tensor3D, rng: Rng | null): tf.Tensor3D {
    return tf.tidy(() => {
      const h = tf.relu(seededDropout(this.conv1.forward(x), this.dropout, rng));
      const y = seededDropout(this.conv2.forward(h), this.dropout, rng);
      return tf.add(x, y) as tf.Tensor3D;
    });
  }
}
