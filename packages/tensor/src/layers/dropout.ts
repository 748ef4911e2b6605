import type { Rng } from '@mmesid/core';
import { Module } from '../module.js';
import { tf } from '../tf.js';

/** Inverted dropout, active only in training mode; masks come from a seeded Rng. */
export class Dropout extends Module {
  constructor(
    readonly p: number,
    private readonly rng: Rng,
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout p must be in [0, 1), got ${p}`);
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.p === 0) return x;
    const seed = this.rng.seed();
    return tf.tidy(() => tf.dropout(x, this.p, undefined, seed));
  }
}
