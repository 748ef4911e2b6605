import { describe, expect, it } from 'vitest';
import { SeededRandom } from './rng.js';

describe('SeededRandom', () => {
  it('is xoshiro128** (reference outputs from state 1, 2, 3, 4)', () => {
    const rng = SeededRandom.fromState([1, 2, 3, 4]);
    // Worked by hand from the algorithm: rotl(s1 * 5, 7) * 9, then the state update.
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32()]).toEqual([11520, 0, 5927040]);
  });

  it('gives the same stream for the same seed and different ones otherwise', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const d = new SeededRandom('42');
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
    expect(Array.from({ length: 8 }, () => d.nextU32())).not.toEqual(xs);
    expect(new SeededRandom(2 ** 40).nextU32()).not.toBe(new SeededRandom(0).nextU32());
  });

  it('draws uniform integers without bias and floats in [0, 1)', () => {
    const rng = new SeededRandom(1);
    const n = 7;
    const counts = new Array(n).fill(0);
    const draws = 70_000;
    for (let i = 0; i < draws; i++) counts[rng.int(n)]++;
    const expected = draws / n;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(22.5); // p = 0.001 for 6 degrees of freedom
    for (let i = 0; i < 1000; i++) {
      const f = rng.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(1.5)).toThrow(RangeError);
    expect(rng.int(1)).toBe(0);
  });

  it('draws normals with the right mean and spread', () => {
    const rng = new SeededRandom(5);
    const xs = Array.from({ length: 20_000 }, () => rng.normal(2, 3));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(2, 1);
    expect(sd).toBeCloseTo(3, 1);
  });

  it('shuffles into a permutation and samples by weight (linear and alias)', () => {
    const rng = new SeededRandom(9);
    const p = rng.permutation(100);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const w = [1, 0, 3, 6];
    const lin = [0, 0, 0, 0];
    const ali = [0, 0, 0, 0];
    const alias = rng.alias(w);
    for (let i = 0; i < 50_000; i++) {
      lin[rng.weighted(w)]!++;
      ali[alias()]!++;
    }
    for (const counts of [lin, ali]) {
      expect(counts[1]).toBe(0);
      expect(counts[0]! / 50_000).toBeCloseTo(0.1, 1);
      expect(counts[2]! / 50_000).toBeCloseTo(0.3, 1);
      expect(counts[3]! / 50_000).toBeCloseTo(0.6, 1);
    }
    expect(() => rng.weighted([0, 0])).toThrow(RangeError);
  });

  it('forks independent, reproducible streams', () => {
    const a = new SeededRandom(7).fork('x');
    const b = new SeededRandom(7).fork('x');
    const c = new SeededRandom(7).fork('y');
    const first = a.nextU32();
    expect(b.nextU32()).toBe(first);
    expect(c.nextU32()).not.toBe(first);
  });
});
