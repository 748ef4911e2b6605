import type { Rng } from '@mmesid/core';
import { tf } from './tf.js';

/**
 * Parameter initialisers. Values are drawn on the CPU from a seeded `Rng` and then uploaded, so
 * a seed gives the same weights on every backend. Each returns a new tensor the caller owns.
 * Shapes follow PyTorch: a weight is [out, in], so fan_in = shape[1] (times the receptive field).
 */
export type Initializer = (shape: number[], rng: Rng) => tf.Tensor;

function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export const uniform =
  (lo: number, hi: number): Initializer =>
  (shape, rng) =>
    tf.tensor(rng.fillUniform(new Float32Array(size(shape)), lo, hi), shape);

export const normal =
  (std = 1, mean = 0): Initializer =>
  (shape, rng) =>
    tf.tensor(rng.fillNormal(new Float32Array(size(shape)), mean, std), shape);

export const zeros: Initializer = (shape) => tf.zeros(shape);
export const ones: Initializer = (shape) => tf.ones(shape);

/** Glorot/Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)). */
export const xavierUniform =
  (gain = 1): Initializer =>
  (shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    const a = gain * Math.sqrt(6 / (fanIn + fanOut));
    return uniform(-a, a)(shape, rng);
  };

/** Glorot/Xavier normal: N(0, gain^2 * 2 / (fan_in + fan_out)). */
export const xavierNormal =
  (gain = 1): Initializer =>
  (shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    return normal(gain * Math.sqrt(2 / (fanIn + fanOut)))(shape, rng);
  };

/**
 * Kaiming/He uniform as PyTorch's `kaiming_uniform_(w, a)` with leaky-ReLU gain
 * sqrt(2 / (1 + a^2)): bound = gain * sqrt(3 / fan_in). `a = sqrt(5)` is nn.Linear's default and
 * LoRA's init for A, giving bound 1 / sqrt(fan_in).
 */
export const kaimingUniform =
  (a = Math.sqrt(5)): Initializer =>
  (shape, rng) => {
    const { fanIn } = fans(shape);
    const gain = Math.sqrt(2 / (1 + a * a));
    const bound = gain * Math.sqrt(3 / fanIn);
    return uniform(-bound, bound)(shape, rng);
  };

/** Kaiming/He normal: N(0, 2 / fan_in) for ReLU. */
export const kaimingNormal = (): Initializer => (shape, rng) =>
  normal(Math.sqrt(2 / fans(shape).fanIn))(shape, rng);
