import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mean, pairedTTest, std, studentTwoSidedP } from './stats.js';

// Values from __fixtures__/ttest.py (scipy.stats.ttest_rel).
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/ttest.json', import.meta.url), 'utf8')) as {
  cases: { a: number[]; b: number[]; t: number; p: number; meanA: number; stdA: number }[];
};

describe('study statistics', () => {
  it('paired t-test, mean and sample std equal scipy/numpy', () => {
    for (const c of fixture.cases) {
      const r = pairedTTest(c.a, c.b);
      expect(r.t).toBeCloseTo(c.t, 8);
      expect(Math.abs(r.p - c.p) / c.p).toBeLessThan(1e-8);
      expect(r.df).toBe(c.a.length - 1);
      expect(mean(c.a)).toBeCloseTo(c.meanA, 14);
      expect(std(c.a)).toBeCloseTo(c.stdA, 14);
    }
  });

  it('closed forms: t with 1 df is Cauchy, p(0) = 1; no spread gives NaN', () => {
    expect(studentTwoSidedP(1, 1)).toBeCloseTo(0.5, 12); // 1 - 2 atan(1) / pi
    expect(studentTwoSidedP(0, 4)).toBeCloseTo(1, 12);
    expect(studentTwoSidedP(2.776445105, 4)).toBeCloseTo(0.05, 8); // t_0.975 with 4 df
    expect(pairedTTest([1, 2, 3], [0, 1, 2]).p).toBeNaN();
    expect(() => pairedTTest([1], [1, 2])).toThrow(/1 values against 2/);
  });
});
