import type { Rng } from '@mmesid/core';
import { ShapeError } from '../errors.js';
import { Module } from '../module.js';
import { stopGradient } from '../ops/stop-gradient.js';
import { tf } from '../tf.js';
import { needRng } from './linear.js';

export interface EmbeddingOptions {
  /** Row that receives no gradient and is initialised to zero (PyTorch `padding_idx`). */
  paddingIdx?: number;
  rng?: Rng;
  skipInit?: boolean;
  /** Std of the N(0, std^2) init (PyTorch default 1). */
  std?: number;
}

/** A lookup table [num, dim]; `forward(ids)` returns [...ids.shape, dim]. */
export class Embedding extends Module {
  weight: tf.Variable;
  readonly paddingIdx: number | undefined;

  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    const rng = needRng(opts, `Embedding(${numEmbeddings}, ${dim})`);
    this.paddingIdx = opts.paddingIdx;
    let w: tf.Tensor;
    if (rng) {
      const values = rng.fillNormal(new Float32Array(numEmbeddings * dim), 0, opts.std ?? 1);
      if (this.paddingIdx !== undefined) values.fill(0, this.paddingIdx * dim, (this.paddingIdx + 1) * dim);
      w = tf.tensor2d(values, [numEmbeddings, dim]);
    } else {
      w = tf.zeros([numEmbeddings, dim]);
    }
    this.weight = this.param('weight', w);
  }

  forward(ids: tf.Tensor): tf.Tensor {
    if (ids.dtype !== 'int32') throw new ShapeError(`Embedding ids must be int32, got ${ids.dtype}`);
    return tf.tidy(() => {
      const flat = ids.reshape([-1]) as tf.Tensor1D;
      let out = tf.gather(this.weight, flat);
      if (this.paddingIdx !== undefined) {
        // The padding row keeps its value but gets no gradient, as with PyTorch's padding_idx.
        const isPad = tf.equal(flat, this.paddingIdx).reshape([-1, 1]);
        out = tf.where(tf.broadcastTo(isPad, out.shape), stopGradient(out), out);
      }
      return out.reshape([...ids.shape, this.dim]);
    });
  }
}
