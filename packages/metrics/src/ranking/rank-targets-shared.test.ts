import { Rng, ShapeError, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { MetricsInputError } from '../errors.js';
import { FullRankingEvaluator } from './evaluator.js';
import { rankTargets, rankTargetsShared } from './rank-targets.js';

/** A popularity-like row (small integer counts, so many ties), with a NaN and a -0 in it. */
function sharedCase(seed: string, cols: number, batch: number) {
  const rng = new Rng(seed);
  const row = new Float32Array(cols);
  for (let j = 0; j < cols; j++) row[j] = rng.int(6) - 1;
  row[3] = Number.NaN;
  row[4] = -0;
  const targets: number[] = [];
  const histories: number[][] = [];
  for (let b = 0; b < batch; b++) {
    let t = 1 + rng.int(cols - 1);
    if (t === 3) t = 5;
    targets.push(t);
    const h: number[] = [];
    const len = rng.int(8);
    for (let i = 0; i < len; i++) h.push(rng.int(cols)); // 0 = padding included
    if (b % 5 === 0) h.push(t); // the target inside the history
    if (b % 7 === 0 && h.length > 0) h.push(h[0]!); // a repeated history item
    histories.push(h);
  }
  return { row, targets, histories };
}

describeBackends('rankTargetsShared (one score row for every user)', () => {
  for (const excludePadding of [false, true]) {
    it(`equals rankTargets on the row repeated per user (ties, NaN, -0, history, excludePadding ${excludePadding})`, async () => {
      const cols = 41;
      const batch = 60;
      const { row, targets, histories } = sharedCase(`shared/${excludePadding}`, cols, batch);
      const tiled = new Float32Array(batch * cols);
      for (let b = 0; b < batch; b++) tiled.set(row, b * cols);
      const scores = tf.tensor2d(tiled, [batch, cols]);
      try {
        const ref = await rankTargets(scores, targets, histories, { excludePadding });
        const got = rankTargetsShared(row, targets, histories, { excludePadding });
        expect(Array.from(got.ranks)).toEqual(Array.from(ref.ranks));
        expect(got.targetsInHistory).toBe(ref.targetsInHistory);
        expect(got.targetsInHistory).toBeGreaterThan(0);
      } finally {
        scores.dispose();
      }
    });
  }

  it('ranks by hand: ties count against the target, history is left out', () => {
    // Items 1..4 with scores 5, 1, 3, 3; padding 0 scores 0.
    const row = [0, 5, 1, 3, 3];
    const { ranks } = rankTargetsShared(row, [3, 2, 2], [[], [1], [1, 4, 0]]);
    // target 3 (3): items 1 (5), 3, 4 (3, a tie) -> 3; target 2 (1): 2, 3, 4 (item 1 in history) -> 3;
    // target 2 with items 1 and 4 in history: 2, 3 -> 2.
    expect(Array.from(ranks)).toEqual([3, 3, 2]);
  });

  it('the evaluator streams shared rows like matrices', async () => {
    const { row, targets, histories } = sharedCase('shared/evaluator', 30, 25);
    const a = new FullRankingEvaluator({ numItems: 29 });
    const b = new FullRankingEvaluator({ numItems: 29 });
    a.updateShared(row, targets.slice(0, 10), histories.slice(0, 10));
    a.updateShared(row, targets.slice(10), histories.slice(10));
    const tiled = new Float32Array(25 * 30);
    for (let i = 0; i < 25; i++) tiled.set(row, i * 30);
    const scores = tf.tensor2d(tiled, [25, 30]);
    await b.update(scores, targets, histories);
    scores.dispose();
    expect(Array.from(a.ranks())).toEqual(Array.from(b.ranks()));
    expect(a.compute()).toEqual(b.compute());
  });

  it('refuses a NaN target score, a row of the wrong length and mismatched inputs, by name', () => {
    expect(() => rankTargetsShared([0, Number.NaN, 1], [1], [[]])).toThrow(MetricsInputError);
    expect(() => rankTargetsShared([0, 1, 2], [1], [[]], { numItems: 3 })).toThrow(
      /rankTargetsShared: the score row has 3 entries but numItems = 3 needs 4/,
    );
    expect(() => rankTargetsShared([0, 1, 2], [1, 2], [[]])).toThrow(ShapeError);
    expect(() => rankTargetsShared([0, 1, 2], [3], [[]])).toThrow(/targets\[0\] is 3/);
  });
});
