import { readFileSync } from 'node:fs';
import { ConfigError, Rng, ShapeError, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { MetricsInputError } from '../errors.js';
import { FullRankingEvaluator } from './evaluator.js';
import { flattenRankingMetrics } from './rank-metrics.js';
import { rankTargets } from './rank-targets.js';
import { topKRecommendations } from './top-k.js';

interface Users {
  scores: number[];
  targets: number[];
  histories: number[][];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/ranking.json', import.meta.url), 'utf8')) as {
  numItems: number;
  noTies: Users & {
    metrics: Record<string, number>;
    metricsExcludePadding: Record<string, number>;
    fullRanks: number[];
  };
  ties: Users & { ranks: number[]; ranksExcludePadding: number[] };
};
const cols = fixture.numItems + 1;

/** Feeds `users` to the evaluator in batches of `batch` rows. */
async function evaluate(
  ev: FullRankingEvaluator,
  u: Users,
  batch: number,
  map = (s: tf.Tensor) => s,
): Promise<void> {
  const rows = u.targets.length;
  for (let b0 = 0; b0 < rows; b0 += batch) {
    const b1 = Math.min(rows, b0 + batch);
    const raw = tf.tensor2d(u.scores.slice(b0 * cols, b1 * cols), [b1 - b0, cols]);
    const scores = map(raw);
    await ev.update(scores, u.targets.slice(b0, b1), u.histories.slice(b0, b1));
    tf.dispose([raw, scores]);
  }
}

describeBackends('full-ranking evaluation', () => {
  it("reproduces the authors' metrics (fixtures/make_ranking.py), streaming in uneven batches", async () => {
    const ev = new FullRankingEvaluator({ numItems: fixture.numItems });
    await evaluate(ev, fixture.noTies, 7);
    expect(Array.from(ev.ranks())).toEqual(fixture.noTies.fullRanks);
    const flat = flattenRankingMetrics(ev.compute());
    for (const [key, v] of Object.entries(fixture.noTies.metrics)) expect(flat[key], key).toBeCloseTo(v, 12);
    expect(ev.users).toBe(48);
    expect(ev.targetsInHistory).toBe(0);
  });

  it('leaves padding 0 out of the ranking only when asked', async () => {
    const ev = new FullRankingEvaluator({ numItems: fixture.numItems, excludePadding: true });
    await evaluate(ev, fixture.noTies, 48);
    const flat = flattenRankingMetrics(ev.compute());
    for (const [key, v] of Object.entries(fixture.noTies.metricsExcludePadding))
      expect(flat[key], key).toBeCloseTo(v, 12);
  });

  it('breaks ties against the target', async () => {
    for (const excludePadding of [false, true]) {
      const ev = new FullRankingEvaluator({ excludePadding });
      await evaluate(ev, fixture.ties, 16);
      expect(Array.from(ev.ranks())).toEqual(
        excludePadding ? fixture.ties.ranksExcludePadding : fixture.ties.ranks,
      );
    }
    // A constant scorer gets the worst rank, not the best.
    const flat = tf.zeros([1, 11]);
    const { ranks } = await rankTargets(flat, [4], [[1, 2]]);
    expect(Array.from(ranks)).toEqual([11 - 2]);
    flat.dispose();
  });

  it('is exact for any score scale, where overwriting history with -1024 is not', async () => {
    // Scores around -1e6: the authors' -1024 would put every history item above the target.
    const ev = new FullRankingEvaluator();
    await evaluate(ev, fixture.noTies, 48, (s) => tf.tidy(() => tf.sub(tf.mul(s, 1e3), 1e6)));
    expect(Array.from(ev.ranks())).toEqual(fixture.noTies.fullRanks);
  });

  it('accepts int32 scores, ignores padding and repeats in histories, counts targets found in history', async () => {
    const scores = tf.tensor2d(
      [
        [9, 5, 7, 7, 1, 8],
        [0, 1, 2, 3, 4, 5],
      ],
      [2, 6],
      'int32',
    );
    const { ranks, targetsInHistory } = await rankTargets(
      scores,
      [2, 3],
      [
        [0, 0, 5, 5, 1],
        [3, 5],
      ],
    );
    // Row 0: padding 0 (9) beats the target (7) and item 3 ties it, so both rank ahead; items 1
    // and 5 are history: rank 3. Row 1: item 4 beats 3 and 5 is history; the target, though in
    // its own history, is still ranked: rank 2.
    expect(Array.from(ranks)).toEqual([3, 2]);
    expect(targetsInHistory).toBe(1);
    scores.dispose();
  });

  it('rejects bad batches with typed errors that say what was expected', async () => {
    const scores = tf.tensor2d([[0, 1, 2]]);
    const ev = new FullRankingEvaluator({ numItems: 5 });
    await expect(ev.update(scores, [1], [[]])).rejects.toThrow(/3 columns but numItems = 5 needs 6/);
    await expect(rankTargets(scores, [0], [[]])).rejects.toThrow(MetricsInputError);
    await expect(rankTargets(scores, [3], [[]])).rejects.toThrow(
      /targets\[0\] is 3; a target must be an item id in 1..2/,
    );
    await expect(rankTargets(scores, [1], [[2.5]])).rejects.toThrow(/histories\[0\]\[0\] is 2.5/);
    await expect(rankTargets(scores, [1, 2], [[], []])).rejects.toThrow(ShapeError);
    const vector = tf.zeros([3]);
    await expect(rankTargets(vector, [1], [[]])).rejects.toThrow(ShapeError);
    const nan = tf.tensor2d([[0, Number.NaN, 2]]);
    await expect(rankTargets(nan, [1], [[]])).rejects.toThrow(/score of target 1 in row 0 is NaN/);
    expect(() => new FullRankingEvaluator({ ks: [] })).toThrow(ConfigError);
    expect(() => new FullRankingEvaluator({ excludePading: true } as never)).toThrow(ConfigError);
    expect(() => ev.compute()).toThrow(MetricsInputError);
    expect(() => ev.addRanks([0])).toThrow(MetricsInputError);
    tf.dispose([scores, nan, vector]);
  });

  it('recommends the top k without history or padding', async () => {
    const scores = tf.tensor2d([
      [10, 1, 9, 3, 8, 2],
      [0, 5, 5, 1, 2, 6],
    ]);
    const { items, scores: s } = await topKRecommendations(scores, 3, [[2], []]);
    expect(Array.from(items[0]!)).toEqual([4, 3, 5]);
    expect(Array.from(s[0]!)).toEqual([8, 3, 2]);
    expect(Array.from(items[1]!).slice(0, 1)).toEqual([5]);
    expect(new Set(items[1]!.slice(1))).toEqual(new Set([1, 2]));
    const all = await topKRecommendations(scores, 10, [[1, 2, 3], []], { excludePadding: false });
    expect(Array.from(all.items[0]!)).toEqual([0, 4, 5]);
    expect(all.items[1]!.length).toBe(6);
    scores.dispose();
  });

  it('keeps memory flat over many batches (leak check) on random data', async () => {
    const rng = new Rng(5);
    const ev = new FullRankingEvaluator();
    for (let step = 0; step < 5; step++) {
      const data = rng.fillNormal(new Float32Array(8 * 200));
      const scores = tf.tensor2d(data, [8, 200]);
      const targets = Array.from({ length: 8 }, () => 1 + rng.int(199));
      const histories = targets.map(() => Array.from({ length: 20 }, () => rng.int(200)));
      await ev.update(scores, targets, histories);
      scores.dispose();
    }
    expect(ev.users).toBe(40);
  });
});
