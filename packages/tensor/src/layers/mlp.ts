import type { Rng } from '@mmesid/core';
import { callChild } from '../call-child.js';
import { Module } from '../module.js';
import { tf } from '../tf.js';

import { type ActivationName, activation } from './activations.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';

export interface MLPOptions {
  /** Between hidden layers (default relu). */
  activation?: ActivationName;
  /** After the last layer (default identity). */
  outputActivation?: ActivationName;
  /** Dropout after each hidden activation (default 0). */
  dropout?: number;
  bias?: boolean;
  rng?: Rng;
  skipInit?: boolean;
}

/** A stack of Linear layers, `sizes = [in, hidden..., out]`, named `layers.0`, `layers.1`, ... */
export class MLP extends Module {
  readonly layers: Linear[] = [];
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private readonly outAct: (x: tf.Tensor) => tf.Tensor;
  private readonly drop: Dropout | null;

  constructor(
    readonly sizes: number[],
    opts: MLPOptions = {},
  ) {
    super();
    if (sizes.length < 2) throw new RangeError(`MLP needs at least [in, out] sizes, got [${sizes}]`);
    const holder = new Module();
    this.setModule('layers', holder);
    for (let i = 0; i + 1 < sizes.length; i++) {
      const l = new Linear(sizes[i]!, sizes[i + 1]!, {
        ...(opts.bias !== undefined ? { bias: opts.bias } : {}),
        ...(opts.rng ? { rng: opts.rng } : {}),
        ...(opts.skipInit ? { skipInit: true } : {}),
      });
      holder.setModule(String(i), l);
      this.layers.push(l);
    }
    this.act = activation(opts.activation ?? 'relu');
    this.outAct = activation(opts.outputActivation ?? 'identity');
    this.drop = opts.dropout
      ? this.setModule('dropout', new Dropout(opts.dropout, opts.rng!.fork('mlp-dropout')))
      : null;
  }

  forward(x: tf.Tensor): tf.Tensor {
    const holder = this.childModule('layers')!;
    return tf.tidy(() => {
      let h = x;
      for (let i = 0; i < this.layers.length; i++) {
        const last = i === this.layers.length - 1;
        // Looked up at call time, so a layer swapped in with replaceModule('layers.<i>', ...) (a LoRA
        // wrapper) is the one that runs.
        const y = callChild(holder, String(i), h);
        h = last ? this.outAct(y) : this.act(y);
        if (!last && this.drop) h = this.drop.forward(h);
      }
      return h;
    });
  }
}
