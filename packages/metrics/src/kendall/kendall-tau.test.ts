import { readFileSync } from 'node:fs';
import { Rng, ShapeError } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { MetricsInputError } from '../errors.js';
import { kendallCounts, kendallTauA, kendallTauB } from './kendall-tau.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/kendall.json', import.meta.url), 'utf8')) as {
  cases: { name: string; x: number[]; y: number[]; tau: number | null }[];
};

/** The O(n^2) definition of tau-b, pair by pair. */
function bruteForceTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const sx = Math.sign(x[j]! - x[i]!);
      const sy = Math.sign(y[j]! - y[i]!);
      if (sx === 0) tx++;
      if (sy === 0) ty++;
      if (sx * sy > 0) c++;
      else if (sx * sy < 0) d++;
    }
  }
  const p = (n * (n - 1)) / 2;
  return (c - d) / Math.sqrt((p - tx) * (p - ty));
}

describe("Kendall's tau-b", () => {
  it('equals scipy.stats.kendalltau to 1e-9 on fixtures with and without ties (fixtures/make_kendall.py)', () => {
    for (const c of fixture.cases) {
      const tau = kendallTauB(c.x, c.y);
      if (c.tau === null) expect(tau, c.name).toBeNaN();
      else expect(Math.abs(tau - c.tau), c.name).toBeLessThan(1e-9);
    }
  });

  it('equals the O(n^2) definition on random data with and without ties', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 30; trial++) {
      const n = 2 + rng.int(400);
      const levels = [0, 3, 20][trial % 3]!; // 0 = continuous
      const draw = () => (levels ? rng.int(levels) : rng.normal());
      const x = Array.from({ length: n }, draw);
      const y = x.map((v) => (trial % 2 ? v : 0) + draw());
      const expected = bruteForceTauB(x, y);
      const got = kendallTauB(x, y);
      if (Number.isNaN(expected)) expect(got).toBeNaN();
      else expect(Math.abs(got - expected)).toBeLessThan(1e-12);
    }
  });

  it('counts discordant pairs and ties exactly', () => {
    const c = kendallCounts([1, 1, 2, 3, 3], [2, 2, 1, 3, 0]);
    // (0,1) is tied in x and y, (3,4) in x only; (0,2), (1,2), (0,4), (1,4), (2,4) are discordant.
    expect(c).toEqual({ n: 5, pairs: 10, discordant: 5, tiesX: 2, tiesY: 1, tiesXY: 1 });
  });

  it('handles large inputs in O(n log n) and keeps |tau| <= 1', () => {
    const rng = new Rng(3);
    const n = 200_000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rng.normal();
      y[i] = x[i]! + 0.5 * rng.normal();
    }
    const tau = kendallTauB(x, y);
    // For a bivariate normal, tau = (2 / pi) asin(rho), rho = 1 / sqrt(1.25).
    expect(Math.abs(tau - (2 / Math.PI) * Math.asin(1 / Math.sqrt(1.25)))).toBeLessThan(0.01);
    expect(kendallTauB(x, x)).toBeCloseTo(1, 14);
  });

  it('returns NaN where scipy does and rejects NaN input and length mismatches', () => {
    expect(kendallTauB([], [])).toBeNaN();
    expect(kendallTauB([1], [2])).toBeNaN();
    expect(kendallTauB([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(() => kendallTauB([1, 2], [1])).toThrow(ShapeError);
    expect(() => kendallTauB([1, Number.NaN], [1, 2])).toThrow(MetricsInputError);
  });
});

describe("kendallTauA (the paper's (C - D) / #pairs)", () => {
  /** The definition, pair by pair: ties count as neither concordant nor discordant. */
  function bruteForceTauA(x: number[], y: number[]): number {
    let s = 0;
    const n = x.length;
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) s += Math.sign(x[i]! - x[j]!) * Math.sign(y[i]! - y[j]!);
    return s / ((n * (n - 1)) / 2);
  }

  it('equals the pair-by-pair definition with and without ties, and tau-b only without ties', () => {
    expect(kendallTauA([1, 1, 2], [1, 2, 3])).toBeCloseTo(2 / 3, 15);
    expect(kendallTauB([1, 1, 2], [1, 2, 3])).toBeCloseTo(2 / Math.sqrt(2 * 3), 15);
    const rng = new Rng(11);
    for (const n of [2, 5, 40, 300]) {
      const x = Array.from({ length: n }, () => rng.int(7));
      const y = Array.from({ length: n }, (_, i) => x[i]! + rng.int(5));
      expect(kendallTauA(x, y)).toBeCloseTo(bruteForceTauA(x, y), 12);
      const u = Array.from({ length: n }, (_, i) => i + rng.normal(0, 3));
      const v = Array.from({ length: n }, (_, i) => i + rng.normal(0, 3));
      expect(kendallTauA(u, v)).toBeCloseTo(kendallTauB(u, v), 12); // continuous: no ties
    }
    expect(kendallTauA([1], [2])).toBeNaN();
  });
});
