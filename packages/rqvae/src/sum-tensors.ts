import { tf } from '@mmesid/tensor';

/**
 * The sum of one or more same-shaped tensors by chained `tf.add`, not `tf.addN`: in an environment
 * where two copies of tfjs-core are loaded (vitest inlines the ESM build while Node loads the CJS
 * one), `Tensor.clone()` fails and AddN's gradient calls it. Add's gradient does not.
 */
export function sumAll<T extends tf.Tensor>(xs: readonly T[]): T {
  if (xs.length === 0) throw new RangeError('sumAll: nothing to sum');
  return tf.tidy(() => xs.slice(1).reduce<tf.Tensor>((acc, x) => tf.add(acc, x), xs[0]!)) as T;
}
