/**
 * The project's one seeded generator: xoshiro128** (Blackman and Vigna), its 128-bit state filled
 * by splitmix32 (MurmurHash3's finaliser) from the seed. Pure 32-bit integer arithmetic, so the same
 * seed gives the same stream on every JavaScript engine and, because tensors are filled on the CPU
 * and only then uploaded, on every tfjs backend. Every random choice of the project (weight
 * initialisation, dropout seeds, the synthetic dataset, batch order, negative sampling) draws from
 * an `Rng`, usually a {@link Rng.fork} named for what it is used for.
 *
 * @example
 * const rng = new Rng(42);
 * rng.float();            // uniform in [0, 1)
 * rng.int(10);            // uniform in 0..9, no modulo bias
 * rng.fork('negatives');  // an independent stream named for its use, stable under unrelated changes
 */
export class Rng {
  private readonly s = new Uint32Array(4);
  private spareNormal: number | null = null;

  /**
   * @param seed a finite number (its integer part is used; values beyond 2^32 mix in their high
   *   word) or a string label (hashed with FNV-1a)
   * @throws {RangeError} for NaN or an infinite seed
   */
  constructor(seed: number | string = 0) {
    if (typeof seed === 'number' && !Number.isFinite(seed))
      throw new RangeError(`Rng: seed must be a finite number, got ${seed}`);
    let h = typeof seed === 'string' ? fnv1a(seed) : (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      h = (h + 0x9e3779b9) >>> 0;
      let z = h;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  /**
   * A generator started from an explicit 128-bit state (four 32-bit words, not all zero), for
   * checking the stream against the reference implementation.
   */
  static fromState(words: readonly [number, number, number, number]): Rng {
    if (words.every((w) => w >>> 0 === 0)) throw new RangeError('Rng.fromState: state must not be all zero');
    const rng = new Rng(0);
    for (let i = 0; i < 4; i++) rng.s[i] = words[i]! >>> 0;
    return rng;
  }

  /** The next 32-bit unsigned integer of the stream. */
  nextU32(): number {
    const s = this.s;
    let s0 = s[0] as number;
    let s1 = s[1] as number;
    let s2 = s[2] as number;
    let s3 = s[3] as number;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3 >>> 0, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits (one draw). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /**
   * A uniform integer in [0, n), without modulo bias (rejection sampling).
   * @throws {RangeError} unless `n` is an integer in [1, 2^32]
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32)
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** A uniform integer in [lo, hi] (both ends included). */
  intBetween(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** A normal deviate (Box-Muller; the second value of each pair is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T, A extends { length: number; [i: number]: T } = T[]>(array: A): A {
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
   * Linear in the number of weights; build an {@link Rng.alias} table for repeated draws.
   */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i]!;
    if (!(total > 0)) throw new RangeError('Rng.weighted: weights must have a positive sum');
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
    if (!(n > 0 && total > 0)) throw new RangeError('Rng.alias: weights must have a positive sum');
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

  /**
   * The generator's whole state (four 32-bit words and the spare normal), to save in a checkpoint
   * so that a resumed run draws the same numbers an uninterrupted one would.
   */
  getState(): { s: number[]; spareNormal: number | null } {
    return { s: Array.from(this.s), spareNormal: this.spareNormal };
  }

  /** Restores a state from {@link Rng.getState}. @throws RangeError on a malformed state */
  setState(state: { s: readonly number[]; spareNormal: number | null }): void {
    if (
      !Array.isArray(state?.s) ||
      state.s.length !== 4 ||
      !state.s.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32) ||
      state.s.every((v) => v === 0) ||
      !(state.spareNormal === null || Number.isFinite(state.spareNormal))
    )
      throw new RangeError(
        `Rng.setState: expected { s: four uint32 (not all 0), spareNormal }, got ${JSON.stringify(state).slice(0, 80)}`,
      );
    this.s.set(state.s);
    this.spareNormal = state.spareNormal;
  }

  /** A seed for tfjs ops that take one (e.g. `tf.dropout`), drawn from this stream. */
  seed(): number {
    return this.nextU32();
  }

  /** An independent generator derived from this one's next two outputs and a label. */
  fork(label = ''): Rng {
    return new Rng(`${this.nextU32()}:${this.nextU32()}:${label}`);
  }

  /** Fills `out` with uniform values in [lo, hi) and returns it. */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  /** Fills `out` with normal values and returns it. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a over UTF-16 code units: turns a label into a 32-bit seed. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
