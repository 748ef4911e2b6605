import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 10 }, () => a.nextU32());
    expect(Array.from({ length: 10 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 10 }, () => c.nextU32())).not.toEqual(xa);
  });

  it('draws uniform floats and normals with the right moments', () => {
    const r = new Rng(1);
    const n = 200_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.float();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    // Standard errors: uniform mean 0.29/sqrt(n) ~ 6.5e-4; normal mean 2.2e-3, variance ~3.2e-3.
    expect(Math.abs(su / n - 0.5)).toBeLessThan(4e-3);
    expect(Math.abs(sn / n)).toBeLessThan(1e-2);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(2e-2);
  });

  it('int(n) covers [0, n) evenly', () => {
    const r = new Rng(3);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => r.int(0)).toThrow(RangeError);
  });

  it('shuffles to a permutation and forks independent streams', () => {
    const r = new Rng(5);
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const s = r.shuffle([...arr]);
    expect([...s].sort((x, y) => x - y)).toEqual(arr);
    expect(s).not.toEqual(arr);
    const f1 = new Rng(9).fork('a');
    const f2 = new Rng(9).fork('b');
    expect(f1.nextU32()).not.toBe(f2.nextU32());
  });
});
