import { readFileSync } from 'node:fs';
import { ConfigError } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { MetricsInputError } from '../errors.js';
import { flattenRankingMetrics, metricsFromRanks } from './rank-metrics.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/ranking.json', import.meta.url), 'utf8')) as {
  noTies: { top20Ranks: (number | null)[]; fullRanks: number[]; metrics: Record<string, number> };
};

describe('metricsFromRanks', () => {
  it('computes HR, nDCG, MRR, Precision, Recall and MAP by hand on three users', () => {
    const m = metricsFromRanks(Int32Array.from([1, 3, 30]), [5, 10, 20]);
    expect(m.users).toBe(3);
    expect(m.hr[5]).toBeCloseTo(2 / 3, 15);
    expect(m.ndcg[5]).toBeCloseTo((1 + 1 / Math.log2(4)) / 3, 15);
    expect(m.mrr[5]).toBeCloseTo((1 + 1 / 3) / 3, 15);
    expect(m.precision[10]).toBeCloseTo(2 / 3 / 10, 15);
    expect(m.recall[20]).toBe(m.hr[20]);
    expect(m.map[20]).toBe(m.mrr[20]);
    expect(m.meanRank).toBeCloseTo(34 / 3, 12);
  });

  it("matches the authors' top-20 procedure (fixtures/make_ranking.py)", () => {
    // Full ranks past 20 contribute nothing at k <= 20, exactly like a target missing from the top 20.
    const { fullRanks, top20Ranks, metrics } = fixture.noTies;
    for (const [u, r] of top20Ranks.entries())
      expect(r === null ? fullRanks[u]! > 20 : fullRanks[u] === r).toBe(true);
    const flat = flattenRankingMetrics(metricsFromRanks(fullRanks));
    for (const [key, v] of Object.entries(metrics)) expect(flat[key], key).toBeCloseTo(v, 12);
  });

  it('sorts and dedupes ks and rejects bad input with a message', () => {
    expect(metricsFromRanks([2], [10, 5, 10]).ks).toEqual([5, 10]);
    expect(() => metricsFromRanks([], [5])).toThrow(MetricsInputError);
    expect(() => metricsFromRanks([0], [5])).toThrow(/ranks\[0\] is 0/);
    expect(() => metricsFromRanks([1.5], [5])).toThrow(MetricsInputError);
    expect(() => metricsFromRanks([1], [])).toThrow(ConfigError);
    expect(() => metricsFromRanks([1], [0])).toThrow(/integer >= 1, got 0/);
  });
});
