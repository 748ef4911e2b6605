import { LeakError } from './errors.js';
import { tf } from './tf.js';

/** Number of tensors the active backend holds right now. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and throws a `LeakError` if more tensors are alive afterwards than before (beyond
 * `allow`, for results the caller keeps on purpose). Returns what `fn` returned.
 *
 * @example
 * await expectNoLeaks(() => trainer.step(batch)); // a training step must not grow memory
 */
export async function expectNoLeaks<T>(
  fn: () => T | Promise<T>,
  opts: { allow?: number; label?: string } = {},
): Promise<T> {
  const before = liveTensors();
  const result = await fn();
  const after = liveTensors();
  const leaked = after - before - (opts.allow ?? 0);
  if (leaked > 0) {
    throw new LeakError(
      `${opts.label ?? 'region'} leaked ${leaked} tensor(s): ${before} alive before, ${after} after${
        opts.allow ? ` (${opts.allow} allowed)` : ''
      }`,
    );
  }
  return result;
}
