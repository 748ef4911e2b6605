import type { Rng } from '@mmesid/tensor';

/** Index of the largest value; the first one on ties (what run.c's `sample_argmax` does). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let max = values[0]!;
  for (let i = 1; i < values.length; i++) {
    if (values[i]! > max) {
      max = values[i]!;
      best = i;
    }
  }
  return best;
}

/** Softmax of `logits / temperature` in float64. */
export function softmaxWithTemperature(logits: ArrayLike<number>, temperature: number): Float64Array {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]! / temperature);
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    p[i] = Math.exp(logits[i]! / temperature - max);
    sum += p[i]!;
  }
  for (let i = 0; i < n; i++) p[i] = p[i]! / sum;
  return p;
}

/**
 * Draws a token id from logits. `temperature` 0 is greedy (argmax). Otherwise softmax(logits / T),
 * restricted to the smallest set of most likely tokens whose probability reaches `topP` (nucleus
 * sampling; `topP` >= 1 keeps everything), sampled with one uniform draw from `rng`.
 * Ties in probability are ordered by token id, so a seed always gives the same token.
 */
export function sampleToken(
  logits: ArrayLike<number>,
  opts: { temperature: number; topP: number; rng: Rng },
): number {
  if (opts.temperature === 0) return argmax(logits);
  const p = softmaxWithTemperature(logits, opts.temperature);
  const coin = opts.rng.float();
  if (!(opts.topP > 0 && opts.topP < 1)) {
    let cdf = 0;
    for (let i = 0; i < p.length; i++) {
      cdf += p[i]!;
      if (coin < cdf) return i;
    }
    return p.length - 1;
  }
  const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]! || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < order.length) {
    mass += p[order[kept]!]!;
    kept++;
    if (mass >= opts.topP) break;
  }
  const r = coin * mass;
  let cdf = 0;
  for (let i = 0; i < kept; i++) {
    cdf += p[order[i]!]!;
    if (r < cdf) return order[i]!;
  }
  return order[kept - 1]!;
}
