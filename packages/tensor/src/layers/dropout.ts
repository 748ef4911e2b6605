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

  /** The state of the mask stream, for checkpoints (see {@link Rng.getState}). */
  rngState(): { s: number[]; spareNormal: number | null } {
    return this.rng.getState();
  }

  /** Restores the mask stream saved by {@link Dropout.rngState}. */
  setRngState(state: { s: readonly number[]; spareNormal: number | null }): void {
    this.rng.setState(state);
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.p === 0) return x;
    const seed = this.rng.seed();
    return tf.tidy(() => tf.dropout(x, this.p, undefined, seed));
  }
}
