import type { Example } from '@mmesid/datasets';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { evaluateRanking } from './evaluate.js';
import { popularityScorer } from './popularity.js';
import { tableScorer } from './table-scorer.js';

// Items 1..4 in 2-d: a table whose rankings are easy to work out by hand.
const table = { rows: 5, cols: 2, data: Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1, -1, 0]) };

describeBackends('table and popularity scorers', ({ tol }) => {
  it('reads a user vector out of the table by the mean or the last item', async () => {
    const mean = tableScorer(table, 'mean');
    const last = tableScorer(table, 'last');
    const h = [Int32Array.from([1, 2]), Int32Array.from([4])];
    const sm = mean.score(h);
    const sl = last.score(h);
    // mean of items 1 and 2 = (0.5, 0.5): scores 0, 0.5, 0.5, 1, -0.5; last of [1, 2] = item 2 = (0, 1).
    expect(maxAbsDiff(await sm.data(), [0, 0.5, 0.5, 1, -0.5, 0, -1, 0, -1, 1])).toBeLessThan(tol);
    expect(maxAbsDiff(await sl.data(), [0, 0, 1, 1, 0, 0, -1, 0, -1, 1])).toBeLessThan(tol);
    tf.dispose([sm, sl]);
    mean.dispose();
    last.dispose();
  });

  it('ranks through @mmesid/metrics with the history excluded', async () => {
    const s = tableScorer(table, 'mean');
    // History [1, 2] excludes items 1 and 2; item 3 (score 1) is first, so target 3 has rank 1.
    // Target 4 (score -0.5) ranks behind 3 and padding 0 (score 0): rank 3.
    const examples: Example[] = [
      { user: 0, history: Int32Array.from([1, 2]), target: 3 },
      { user: 1, history: Int32Array.from([1, 2]), target: 4 },
    ];
    const m = await evaluateRanking(s, examples, { ks: [1, 2, 3] });
    expect(m.hr[1]).toBeCloseTo(0.5, 12);
    expect(m.hr[2]).toBeCloseTo(0.5, 12);
    expect(m.hr[3]).toBeCloseTo(1, 12);
    expect(m.ndcg[3]).toBeCloseTo((1 + 1 / Math.log2(4)) / 2, 12);
    const noPad = await evaluateRanking(s, examples, { ks: [2], excludePadding: true });
    expect(noPad.hr[2]).toBeCloseTo(1, 12);
    s.dispose();
  });

  it('onRanks gives each example its rank in the input order (batches sorted by history length)', async () => {
    const s = tableScorer(table, 'last');
    // Items: 1 = (1, 0), 2 = (0, 1), 3 = (1, 1), 4 = (-1, 0); the user vector is the last item.
    // The longest history comes first, so the evaluator (sorted by history length) sees 1, 2, 0.
    // User 0: last 2, scores [0, 0, 1, 1, 0]; 1, 2, 3 hidden; target 4 (0) ties padding: rank 2.
    // User 1: last 1, scores [0, 1, 0, 1, -1]; 1 hidden; target 2 (0) behind 3, ties padding: rank 3.
    // User 2: last 2; 2 hidden; target 4 (0) behind 3, ties padding and item 1: rank 4.
    const examples: Example[] = [
      { user: 0, history: Int32Array.from([1, 3, 2]), target: 4 },
      { user: 1, history: Int32Array.from([1]), target: 2 },
      { user: 2, history: Int32Array.from([2]), target: 4 },
    ];
    const got: Int32Array[] = [];
    const m = await evaluateRanking(s, examples, { ks: [1, 2], batchSize: 2, onRanks: (r) => got.push(r) });
    expect(got.map((r) => Array.from(r))).toEqual([[2, 3, 4]]);
    expect(m.hr[1]).toBe(0);
    expect(m.hr[2]).toBeCloseTo(1 / 3, 12);
    s.dispose();
  });

  it('popularity gives every user the training counts', async () => {
    const pop = popularityScorer(Int32Array.from([0, 5, 1, 3]));
    const s = pop.score([Int32Array.from([1]), Int32Array.from([])]);
    expect(Array.from(await s.data())).toEqual([0, 5, 1, 3, 0, 5, 1, 3]);
    s.dispose();
    pop.dispose();
  });

  it('evaluateRanking ranks popularity from its shared row exactly as from the full matrix', async () => {
    const counts = Int32Array.from([0, 5, 1, 3, 3, 0, 5, 2]);
    const examples: Example[] = [
      { user: 1, history: Int32Array.from([1, 6]), target: 3 },
      { user: 2, history: Int32Array.from([]), target: 4 },
      { user: 3, history: Int32Array.from([2, 4, 0]), target: 7 },
      { user: 4, history: Int32Array.from([5]), target: 5 },
    ];
    const pop = popularityScorer(counts);
    expect(pop.sharedScores).toBeDefined();
    // The same scorer without its shared row goes through score() and the matrix ranking.
    const matrixOnly = { name: 'matrix', numItems: pop.numItems, score: pop.score.bind(pop) };
    for (const excludePadding of [false, true]) {
      const fast = await evaluateRanking(pop, examples, { ks: [1, 2, 3], batchSize: 3, excludePadding });
      const slow = await evaluateRanking(matrixOnly, examples, {
        ks: [1, 2, 3],
        batchSize: 3,
        excludePadding,
      });
      expect(fast).toEqual(slow);
    }
    pop.dispose();
  });
});
