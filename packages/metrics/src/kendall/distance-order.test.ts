import { ConfigError, Rng, ShapeError } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { MetricsInputError } from '../errors.js';
import type { EmbeddingTable } from '../table.js';
import { distanceOrderTau, pairDistances } from './distance-order.js';
import { behaviouralPairs, randomItemPairs } from './item-pairs.js';
import { kendallTauA, kendallTauB } from './kendall-tau.js';

function randomTable(rows: number, cols: number, seed: number): EmbeddingTable {
  return { rows, cols, data: new Rng(seed).fillNormal(new Float32Array(rows * cols)) };
}

function mapTable(t: EmbeddingTable, f: (v: number, r: number, c: number) => number): EmbeddingTable {
  const data = new Float32Array(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = f(t.data[i]!, Math.floor(i / t.cols), i % t.cols);
  return { rows: t.rows, cols: t.cols, data };
}

describe('item pairs', () => {
  it('takes (last history item, target) of each example, unordered and deduplicated, and counts what it skips', () => {
    const examples = [
      { history: [], target: 3 },
      { history: [3], target: 5 },
      { history: [3, 5], target: 2 },
      { history: [4, 2], target: 2 },
      { history: [1, 2], target: 5 },
      { history: [9, 5], target: 3 },
    ];
    const p = behaviouralPairs(examples);
    // {2, 5} and {3, 5} come again in the other order: kept once each.
    expect(Array.from(p.first)).toEqual([3, 5]);
    expect(Array.from(p.second)).toEqual([5, 2]);
    expect(p).toMatchObject({ examples: 6, emptyHistories: 1, selfPairs: 1, duplicates: 2 });
    const all = behaviouralPairs(examples, { unique: false });
    expect(all.first.length).toBe(4);
    // The other reading: every history item with the target.
    const every = behaviouralPairs(examples, { reading: 'all' });
    // (3,5) (3,2) (5,2) (4,2) (2,2)self (1,5) (2,5)dup (9,3) (5,3)dup
    expect(Array.from(every.first)).toEqual([3, 3, 5, 4, 1, 9]);
    expect(Array.from(every.second)).toEqual([5, 2, 2, 2, 5, 3]);
    expect(every).toMatchObject({ selfPairs: 1, duplicates: 2 });
    expect(() => behaviouralPairs([{ history: [1.5], target: 2 }])).toThrow(
      /example 0 has last history item 1.5/,
    );
  });

  it('draws distinct seeded random pairs without padding', () => {
    const a = randomItemPairs(50, 300, { seed: 9 });
    const b = randomItemPairs(50, 300, { seed: 9 });
    expect(a).toEqual(b);
    expect(randomItemPairs(50, 300, { seed: 10 })).not.toEqual(a);
    const keys = new Set<number>();
    for (let p = 0; p < 300; p++) {
      const [i, j] = [a.first[p]!, a.second[p]!];
      expect(i).not.toBe(j);
      expect(Math.min(i, j)).toBeGreaterThanOrEqual(1);
      expect(Math.max(i, j)).toBeLessThanOrEqual(50);
      keys.add(Math.min(i, j) * 100 + Math.max(i, j));
    }
    expect(keys.size).toBe(300);
    // Every pair of 1..6 (15 of them), by the enumerate-and-shuffle path.
    const full = randomItemPairs(6, 15, { seed: 1 });
    expect(
      new Set(
        Array.from(full.first, (f, p) => Math.min(f, full.second[p]!) * 10 + Math.max(f, full.second[p]!)),
      ).size,
    ).toBe(15);
    expect(() => randomItemPairs(6, 16)).toThrow(ConfigError);
    expect(() => randomItemPairs(1, 1)).toThrow(ConfigError);
  });
});

describe('distance-order tau', () => {
  const table = randomTable(40, 8, 1);
  const pairs = randomItemPairs(39, 400, { seed: 2 });

  it('computes Euclidean and cosine distances like the textbook formulas', () => {
    const t: EmbeddingTable = { rows: 3, cols: 2, data: Float32Array.of(0, 0, 3, 4, -6, -8) };
    const p = { first: Int32Array.of(1, 1), second: Int32Array.of(0, 2) };
    expect(Array.from(pairDistances(t, p))).toEqual([5, 15]);
    const c = pairDistances(
      { rows: 3, cols: 2, data: Float32Array.of(1, 0, 0, 2, 3, 0) },
      { first: Int32Array.of(0, 0), second: Int32Array.of(1, 2) },
      { metric: 'cosine' },
    );
    expect(Array.from(c)).toEqual([1, 0]);
    expect(() => pairDistances(t, p, { metric: 'cosine' })).toThrow(/row 0 is all zeros/);
  });

  it('is 1 for a table that keeps every distance order and equals tau of the distance lists', () => {
    // Scaling and rotation keep Euclidean order; scaling rows keeps cosine order.
    const scaled = mapTable(table, (v) => 3 * v);
    expect(distanceOrderTau(table, scaled, pairs).tau).toBeCloseTo(1, 12);
    const rowScaled = mapTable(table, (v, r) => v * (1 + r));
    expect(distanceOrderTau(table, rowScaled, pairs, { metric: 'cosine' }).tau).toBeCloseTo(1, 12);
    const other = randomTable(40, 5, 3); // different width is fine
    const r = distanceOrderTau(table, other, pairs);
    expect(r.pairs).toBe(400);
    expect(r.tau).toBe(kendallTauB(pairDistances(table, pairs), pairDistances(other, pairs)));
    expect(r.tauA).toBe(kendallTauA(pairDistances(table, pairs), pairDistances(other, pairs)));
    expect(Math.abs(r.tau)).toBeLessThan(0.2);
  });

  it('drops towards 0 as noise replaces the original geometry', () => {
    const taus = [0.1, 1, 10].map((s) => {
      const rng = new Rng(4);
      return distanceOrderTau(
        table,
        mapTable(table, (v) => v + s * rng.normal()),
        pairs,
      ).tau;
    });
    expect(taus[0]).toBeGreaterThan(taus[1]!);
    expect(taus[1]).toBeGreaterThan(taus[2]!);
  });

  it('rejects pairs outside the tables and mismatched lists', () => {
    const bad = { first: Int32Array.of(1), second: Int32Array.of(40) };
    expect(() => distanceOrderTau(table, table, bad)).toThrow(MetricsInputError);
    expect(() =>
      distanceOrderTau(table, table, { first: Int32Array.of(1), second: Int32Array.of() }),
    ).toThrow(ShapeError);
    expect(() => pairDistances({ rows: 2, cols: 2, data: new Float32Array(3) }, bad)).toThrow(ShapeError);
    expect(() => pairDistances(table, pairs, { metric: 'manhattan' as never })).toThrow(ConfigError);
  });
});
