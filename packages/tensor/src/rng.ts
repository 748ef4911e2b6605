/**
 * A small, fast, seeded generator (xoshiro128**, seeded through splitmix32) so every random
 * choice in the project is reproducible: the same seed gives the same numbers on every backend,
 * because the numbers are made on the CPU and only then uploaded.
 *
 * @example
 * const rng = new Rng(42);
 * rng.float(); // in [0, 1)
 * const child = rng.fork('dropout'); // an independent stream, stable under unrelated changes
 */
export class Rng {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;

  constructor(seed: number | string = 0) {
    let h = typeof seed === 'string' ? hashString(seed) : (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      h = (h + 0x9e3779b9) >>> 0;
      let z = h;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  /** Next 32-bit unsigned integer. */
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

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n > 0) || n > 2 ** 32) throw new RangeError(`Rng.int: n must be in (0, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Standard normal (Box-Muller; the spare value is kept for the next call). */
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

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = tmp;
    }
    return arr;
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

  /** An independent generator derived from this one's current state and a label. */
  fork(label = ''): Rng {
    return new Rng(`${this.nextU32()}:${this.nextU32()}:${label}`);
  }

  /** Fills a Float32Array with uniform values in [lo, hi). */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  /** Fills a Float32Array with normal values. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function hashString(s: string): number {
  // FNV-1a, enough to turn a label into a seed.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
