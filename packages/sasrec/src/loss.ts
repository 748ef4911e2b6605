import { ConfigError, gatherRows, tf } from '@mmesid/tensor';
import type { SasrecBatch } from './batches.js';
import type { SASRec } from './model.js';

/**
 * The training objective.
 * - `bce`: the paper's binary cross-entropy (SASRec Eq. 7) with `negatives` sampled negatives per position:
 *   -log sigmoid(r_pos) - sum_k log(1 - sigmoid(r_neg_k)), averaged over positions; with one
 *   negative this is the reference code's two `BCEWithLogitsLoss` terms.
 * - `sampled-softmax`: softmax cross-entropy over the positive and its sampled negatives: the
 *   batch's per-position negatives, or, when the batch carries `shared` negatives, those K items
 *   for every position (scored with one [P, d] x [d, K] product; a shared negative that is one of
 *   the row's training items is masked out).
 * - `ce`: softmax cross-entropy over the whole catalogue (items 1..N; padding excluded). It
 *   materialises [positions, numItems + 1] logits per batch: on Beauty's widest batches (6,400
 *   positions x 12,087 items) that is 310 MB per copy, more than tfjs-backend-wasm's heap allows, and
 *   it trains ~15x slower than `bce` on WASM; use it on a GPU backend or with small catalogues.
 */
export type SasrecLossName = 'bce' | 'sampled-softmax' | 'ce';

/** The rows of a {@link SequenceBatch} that hold a target, flattened on the CPU. */
export interface PositionTargets {
  /** Flat indices (row * length + column) of the positions with a target. */
  readonly positions: Int32Array;
  /** The positive item of each such position. */
  readonly positives: Int32Array;
  /** `positions.length * negativesPerPosition` negatives. */
  readonly negatives: Int32Array;
  readonly negativesPerPosition: number;
}

/** Picks the positions with a target (mask 1) and their positives and negatives. */
export function positionTargets(batch: SasrecBatch): PositionTargets {
  const cells = batch.size * batch.length;
  const k = cells === 0 ? 0 : batch.negatives.length / cells;
  let n = 0;
  for (let c = 0; c < cells; c++) n += batch.mask[c]!;
  const positions = new Int32Array(n);
  const positives = new Int32Array(n);
  const negatives = new Int32Array(n * k);
  for (let c = 0, j = 0; c < cells; c++) {
    if (!batch.mask[c]) continue;
    positions[j] = c;
    positives[j] = batch.targets[c]!;
    for (let m = 0; m < k; m++) negatives[j * k + m] = batch.negatives[c * k + m]!;
    j++;
  }
  return { positions, positives, negatives, negativesPerPosition: k };
}

/**
 * The scalar training loss of one all-positions batch (see {@link SasrecLossName}). Runs the model
 * forward in its current mode (call `model.train()` first for dropout). Scores are computed only at
 * positions that hold a target. Returns a scalar the caller owns; use it inside `Trainer.step`.
 * `itemTable` [numItems + 1, d] replaces the model's own `item_emb` for inputs and outputs (a table
 * computed from other parameters, e.g. MOTOR's sums of semantic-ID embeddings; gradients flow into it).
 * @see SASRec (Kang & McAuley 2018) Eq. 7
 * @throws ConfigError when the loss needs negatives and the batch has none.
 */
export function sasrecLoss(
  model: SASRec,
  batch: SasrecBatch,
  loss: SasrecLossName = 'bce',
  itemTable?: tf.Tensor2D,
): tf.Scalar {
  const t = positionTargets(batch);
  const k = t.negativesPerPosition;
  const shared = loss === 'sampled-softmax' ? batch.shared : undefined;
  if (loss !== 'ce' && k === 0 && !shared)
    throw new ConfigError(`sasrecLoss: the "${loss}" loss needs negatives, but the batch has 0 per position`);
  const d = model.config.hiddenUnits;
  return tf.tidy(() => {
    const ids = tf.tensor2d(batch.inputs, [batch.size, batch.length], 'int32');
    const P = t.positions.length;
    const cells = batch.size * batch.length;
    const nNeg = loss === 'ce' ? 0 : shared ? shared.ids.length : t.negatives.length;
    // One gather for inputs, positives and negatives: its gradient is a single scatter-add into the
    // table instead of three table-sized dense gradients that then have to be summed.
    const all = new Int32Array(cells + P + nNeg);
    all.set(batch.inputs, 0);
    all.set(t.positives, cells);
    if (nNeg) all.set(shared ? shared.ids : t.negatives, cells + P);
    const table = itemTable ?? model.itemEmbeddings;
    const rows = gatherRows(table as tf.Tensor2D, tf.tensor1d(all, 'int32'));
    const h = model.forward(ids, rows.slice([0, 0], [cells, d])).reshape([-1, d]);
    const hp = gatherRows(h as tf.Tensor2D, tf.tensor1d(t.positions, 'int32')); // [P, d]
    const posLogit = tf.sum(tf.mul(hp, rows.slice([cells, 0], [P, d])), -1); // [P]
    if (loss === 'ce') {
      const logits = tf.matMul(hp, table, false, true); // [P, N+1]
      const padMask = tf.concat([tf.fill([1], -1e9), tf.zeros([table.shape[0] - 1])]);
      const lse = tf.logSumExp(tf.add(logits, padMask), -1);
      return tf.mean(tf.sub(lse, posLogit)) as tf.Scalar;
    }
    if (shared) {
      const K = nNeg;
      const mask = new Float32Array(P * K);
      for (let j = 0; j < P; j++) {
        const row = Math.floor(t.positions[j]! / batch.length);
        for (let m = 0; m < K; m++) if (shared.excluded[row * K + m]) mask[j * K + m] = -1e9;
      }
      const neg = rows.slice([cells + P, 0], [K, d]); // [K, d]
      const negLogit = tf.add(tf.matMul(hp, neg, false, true), tf.tensor2d(mask, [P, K])); // [P, K]
      const sampled = tf.concat([posLogit.reshape([P, 1]), negLogit], 1);
      return tf.mean(tf.sub(tf.logSumExp(sampled, -1), posLogit)) as tf.Scalar;
    }
    const negEmb = rows.slice([cells + P, 0], [nNeg, d]).reshape([P, k, d]);
    const negLogit = tf.sum(tf.mul(hp.reshape([P, 1, d]), negEmb), -1); // [P, k]
    if (loss === 'bce') {
      // -log sigmoid(z) = softplus(-z); -log(1 - sigmoid(z)) = softplus(z).
      const posTerm = tf.mean(tf.softplus(tf.neg(posLogit)));
      const negTerm = tf.mul(tf.mean(tf.softplus(negLogit)), k);
      return tf.add(posTerm, negTerm) as tf.Scalar;
    }
    const sampled = tf.concat([posLogit.reshape([P, 1]), negLogit], 1); // [P, 1+k], the positive first
    return tf.mean(tf.sub(tf.logSumExp(sampled, -1), posLogit)) as tf.Scalar;
  });
}
