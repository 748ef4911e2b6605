// The README's example: every part of @mmesid/metrics on small synthetic data.
// In this repo: pnpm --filter @mmesid/metrics example

import {
  behaviouralPairs,
  distanceOrderTau,
  FullRankingEvaluator,
  flattenRankingMetrics,
  kendallTauB,
  mmd,
  mmdLoss,
  randomItemPairs,
  semanticIdStats,
  singularValues,
  topKRecommendations,
} from '@mmesid/metrics';
import { initBackend, Rng, tf } from '@mmesid/tensor';

await initBackend({ prefer: 'wasm', log: false });
const rng = new Rng(0);
const numItems = 500;

// 1. Full-ranking evaluation, streamed over batches of users.
const users = Array.from({ length: 1000 }, () => {
  const history = Array.from({ length: 5 }, () => 1 + rng.int(numItems));
  return { history, target: 1 + rng.int(numItems) };
});
const evaluator = new FullRankingEvaluator({ numItems }); // ks 5/10/20, padding 0 ranked like the authors
for (let b = 0; b < users.length; b += 256) {
  const batch = users.slice(b, b + 256);
  const scores = tf.randomNormal([batch.length, numItems + 1], 0, 1, 'float32', b); // your model here
  await evaluator.update(
    scores,
    batch.map((u) => u.target),
    batch.map((u) => u.history),
  );
  if (b === 0) {
    const { items } = await topKRecommendations(
      scores,
      5,
      batch.map((u) => u.history),
    );
    console.log('top-5 for user 0:', Array.from(items[0]!));
  }
  scores.dispose();
}
const m = evaluator.compute();
console.log(
  `HR@10 ${m.hr[10]!.toFixed(4)}  NDCG@10 ${m.ndcg[10]!.toFixed(4)}  (random scores: ~${(10 / numItems).toFixed(3)})`,
);
console.log(flattenRankingMetrics(m));

// 2. Kendall's tau-b and the forgetting measure between two embedding tables.
console.log('tau-b:', kendallTauB([1, 2, 3, 4, 5], [3, 4, 1, 2, 5])); // 0.2, as scipy
const d = 16;
const original = { rows: numItems + 1, cols: d, data: rng.fillNormal(new Float32Array((numItems + 1) * d)) };
const noisy = { ...original, data: original.data.map((v) => v + 0.3 * rng.normal()) };
const pairs = behaviouralPairs(users); // (last history item, target) of each example
console.log('behavioural pairs:', pairs.first.length, 'duplicates skipped:', pairs.duplicates);
console.log('distance-order tau (behavioural):', distanceOrderTau(original, noisy, pairs).tau.toFixed(3));
const random = randomItemPairs(numItems, 5000, { seed: 1 });
console.log(
  'distance-order tau (random, cosine):',
  distanceOrderTau(original, noisy, random, { metric: 'cosine' }).tau.toFixed(3),
);

// 3. Singular-value spectrum (embedding collapse), rows 1.. to skip padding.
const s = await singularValues(original, { fromRow: 1 });
console.log(
  'normalised singular values:',
  Array.from(s.normalized.slice(0, 4), (v) => v.toFixed(3)),
);

// 4. MMD: a report number in float64 and a differentiable loss.
const x = { rows: 64, cols: d, data: original.data.slice(d, 65 * d) };
const y = { rows: 64, cols: d, data: noisy.data.slice(d, 65 * d) };
console.log('MMD^2 (biased, mean heuristic):', mmd(x, y).mmd2.toFixed(5));
const xt = tf.tensor2d(x.data, [64, d]);
const yt = tf.tensor2d(y.data, [64, d]);
const grad = tf.grad((v: tf.Tensor) =>
  mmdLoss(v, yt, { kernels: [{ bandwidth: 'mean', alpha: 1 }, { sigma: 2 }] }),
);
const g = grad(xt);
console.log('d MMD^2 / dx has shape', g.shape);
tf.dispose([xt, yt, g]);

// 5. Semantic-ID statistics of an N x L code matrix with codebook size K.
const codes = Int32Array.from({ length: numItems * 3 }, () => rng.int(16));
const sid = semanticIdStats({ rows: numItems, levels: 3, data: codes }, 16);
console.log(
  `collision rate ${sid.collisionRate.toFixed(3)}, level-0 usage ${sid.perLevel[0]!.usage}, perplexity ${sid.perLevel[0]!.perplexity.toFixed(2)}`,
);
