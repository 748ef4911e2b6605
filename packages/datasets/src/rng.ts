/**
 * A small seeded pseudo-random generator: xoshiro128** (Blackman and Vigna), its 128-bit state
 * filled by splitmix32 from the seed. Pure integer arithmetic, so the same seed gives the same
 * stream on every JavaScript engine. This package needs no tfjs, so it carries its own generator;
 * `@mmesid/tensor` has another one for tensor work.
 *
 * @example
 * const rng = new SeededRandom(42);
 * rng.int(10);            // uniform in 0..9
 * rng.fork('negatives');  // an independent stream named for what it is used for
 */
export class SeededRandom {
  private readonly state = new Uint32Array(4);
  private cachedNormal: number | undefined;

  /** @param seed a number (its integer part is used, negative allowed) or a string label. */
  constructor(seed: number | string = 0) {
    let x = typeof seed === 'string' ? fnv1a(seed) : mixNumber(seed);
    for (let i = 0; i < 4; i++) {
      // splitmix32: a different well-mixed word for each state slot.
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      this.state[i] = (z ^ (z >>> 15)) >>> 0;
    }
    if ((this.state[0]! | this.state[1]! | this.state[2]! | this.state[3]!) === 0) this.state[0] = 1;
  }

  /**
   * A generator started from an explicit 128-bit state (four 32-bit words, not all zero), for
   * checking the stream against the reference implementation.
   */
  static fromState(words: readonly [number, number, number, number]): SeededRandom {
    if (words.every((w) => w >>> 0 === 0))
      throw new RangeError('SeededRandom.fromState: state must not be all zero');
    const rng = new SeededRandom(0);
    for (let i = 0; i < 4; i++) rng.state[i] = words[i]! >>> 0;
    return rng;
  }

  /** The next 32-bit unsigned integer of the stream. */
  nextU32(): number {
    const s = this.state;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const s2 = s[2]!;
    const s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. `n` must be an integer in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new RangeError(`SeededRandom.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const reject = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < reject) return x % n;
    }
  }

  /** A uniform integer in [lo, hi] (both ends included). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** A normal deviate (Marsaglia's polar method). */
  normal(mean = 0, std = 1): number {
    if (this.cachedNormal !== undefined) {
      const v = this.cachedNormal;
      this.cachedNormal = undefined;
      return mean + std * v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.float() - 1;
      v = 2 * this.float() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.cachedNormal = v * f;
    return mean + std * u * f;
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T, A extends { length: number; [i: number]: T }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle<number, Int32Array>(p);
  }

  /**
   * An index drawn with probability proportional to `weights[i]` (non-negative, not all zero).
   * Linear in the number of weights; build a {@link SeededRandom.alias} table for repeated draws.
   */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i]!;
    if (!(total > 0)) throw new RangeError('SeededRandom.weighted: weights must have a positive sum');
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    // Rounding left a sliver: return the last index with positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
    return weights.length - 1;
  }

  /**
   * A sampler for repeated draws from a fixed discrete distribution in O(1) each (Walker's alias
   * method, Vose's construction). The sampler draws from this generator's stream.
   */
  alias(weights: ArrayLike<number>): () => number {
    const n = weights.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i]!;
    if (!(n > 0 && total > 0)) throw new RangeError('SeededRandom.alias: weights must have a positive sum');
    const prob = new Float64Array(n);
    const alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      (scaled[i]! < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      prob[s] = scaled[s]!;
      alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of large) prob[i] = 1;
    for (const i of small) prob[i] = 1;
    return () => {
      const i = this.int(n);
      return this.float() < prob[i]! ? i : alias[i]!;
    };
  }

  /** An independent generator derived from this one's next outputs and a label. */
  fork(label = ''): SeededRandom {
    return new SeededRandom(`${this.nextU32()}/${this.nextU32()}/${label}`);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

function mixNumber(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`SeededRandom: seed must be finite, got ${seed}`);
  const t = Math.trunc(seed);
  const lo = t | 0;
  const hi = Math.floor(t / 4294967296) | 0;
  return lo ^ Math.imul(hi, 0x9e3779b1);
}
