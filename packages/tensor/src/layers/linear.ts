import type { Rng } from '@mmesid/core';
import { kaimingUniform, uniform } from '../init.js';
import { expectLastDim, Module } from '../module.js';
import { linear } from '../ops/linear.js';
import { tf } from '../tf.js';

export interface LinearOptions {
  bias?: boolean;
  /** Seeded source for the default init (PyTorch nn.Linear: kaiming-uniform a=sqrt(5), bias U(+-1/sqrt(in))). */
  rng?: Rng;
  /** Start from zeros (cheap) because weights will be loaded from a checkpoint. */
  skipInit?: boolean;
}

/** Resolves init options shared by layers: random init needs an explicit seeded Rng. */
export function needRng(opts: { rng?: Rng; skipInit?: boolean }, what: string): Rng | null {
  if (opts.skipInit) return null;
  if (!opts.rng)
    throw new Error(`${what}: pass { rng } for a seeded init, or { skipInit: true } before loading weights`);
  return opts.rng;
}

/**
 * y = x W^T + b, with `weight` [out, in] as in PyTorch and Hugging Face checkpoints.
 * Accepts any leading batch dimensions. The returned tensor belongs to the caller.
 */
export class Linear extends Module {
  weight: tf.Variable;
  bias: tf.Variable | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const rng = needRng(opts, `Linear(${inFeatures}, ${outFeatures})`);
    const shape = [outFeatures, inFeatures];
    this.weight = this.param('weight', rng ? kaimingUniform()(shape, rng) : tf.zeros(shape));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias =
      opts.bias === false
        ? null
        : this.param('bias', rng ? uniform(-bound, bound)([outFeatures], rng) : tf.zeros([outFeatures]));
  }

  forward(x: tf.Tensor): tf.Tensor {
    expectLastDim(x, this.inFeatures, 'Linear input');
    // x W^T as one kernel each way on cpu/wasm (ops/linear.ts), reshape + matMul elsewhere.
    if (!this.bias) return linear(x, this.weight);
    return tf.tidy(() => tf.add(linear(x, this.weight), this.bias!));
  }
}
