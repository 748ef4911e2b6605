import { MmesidError } from './errors.js';
import type { Module } from './module.js';
import type { tf } from './tf.js';

/** Anything with a one-tensor forward pass: a `Linear`, an `RMSNorm`, or a wrapper such as a LoRA layer. */
export interface TensorForward {
  forward(x: tf.Tensor): tf.Tensor;
}

/**
 * Runs the submodule registered under `name` on `x`. Looking the module up at call time (instead of
 * keeping it in a field) is what makes `replaceModule('model.layers.0.mlp.gate_proj', wrapper)` take
 * effect: the forward pass always calls whatever is registered at that path.
 */
export function callChild(parent: Module, name: string, x: tf.Tensor): tf.Tensor {
  const m = parent.childModule(name) as (Module & Partial<TensorForward>) | undefined;
  if (!m) throw new MmesidError(`${parent.constructor.name}: no submodule "${name}" is registered`);
  if (typeof m.forward !== 'function')
    throw new MmesidError(
      `${parent.constructor.name}.${name}: the registered ${m.constructor.name} has no forward(x) method`,
    );
  return m.forward(x);
}
