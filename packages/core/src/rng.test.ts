import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('is xoshiro128** (reference outputs from state 1, 2, 3, 4)', () => {
    const rng = Rng.fromState([1, 2, 3, 4]);
    // Worked by hand from the algorithm: rotl(s1 * 5, 7) * 9, then the state update.
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32()]).toEqual([11520, 0, 5927040]);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(RangeError);
  });

  it('gives the same stream for the same seed and different ones otherwise', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    for (const other of [new Rng(43), new Rng('42'), new Rng(42 + 2 ** 32)])
      expect(Array.from({ length: 8 }, () => other.nextU32())).not.toEqual(xs);
    expect(() => new Rng(Number.NaN)).toThrow(RangeError);
    expect(() => new Rng(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('draws uniform integers without bias and floats in [0, 1)', () => {
    const rng = new Rng(1);
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
      const k = rng.intBetween(3, 5);
      expect(k >= 3 && k <= 5 && Number.isInteger(k)).toBe(true);
    }
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(1.5)).toThrow(RangeError);
    expect(rng.int(1)).toBe(0);
  });

  it('draws uniform floats and normals with the right moments', () => {
    const r = new Rng(1);
    const n = 200_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      su += r.float();
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    // Standard errors: uniform mean 0.29/sqrt(n) ~ 6.5e-4; normal mean 2.2e-3, variance ~3.2e-3.
    expect(Math.abs(su / n - 0.5)).toBeLessThan(4e-3);
    expect(Math.abs(sn / n)).toBeLessThan(1e-2);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(2e-2);
    const shifted = Array.from({ length: 20_000 }, () => r.normal(2, 3));
    const mean = shifted.reduce((a, b) => a + b, 0) / shifted.length;
    const sd = Math.sqrt(shifted.reduce((a, b) => a + (b - mean) ** 2, 0) / shifted.length);
    expect(mean).toBeCloseTo(2, 1);
    expect(sd).toBeCloseTo(3, 1);
  });

  it('shuffles into a permutation and samples by weight (linear and alias)', () => {
    const rng = new Rng(9);
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const s = rng.shuffle([...arr]);
    expect([...s].sort((x, y) => x - y)).toEqual(arr);
    expect(s).not.toEqual(arr);
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
    expect(() => rng.alias([])).toThrow(RangeError);
  });

  it('forks independent, reproducible streams', () => {
    const a = new Rng(7).fork('x');
    const b = new Rng(7).fork('x');
    const c = new Rng(7).fork('y');
    const first = a.nextU32();
    expect(b.nextU32()).toBe(first);
    expect(c.nextU32()).not.toBe(first);
  });
});
