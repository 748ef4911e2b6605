import { KVCache } from '@mmesid/llama';
import { gatherRows, MmesidError, ShapeError, tf } from '@mmesid/tensor';
import type { MmeSidModel } from './model.js';

/** Options of {@link FrozenScorer}. */
export interface FrozenScorerOptions {
  /**
   * Items per chunk when the item tokens of all N + 1 ids are computed up front (default 4096). Only
   * bounds the peak memory of that one-off pass (the token MLP's hidden layer is [chunk, M d]).
   */
  tokenChunk?: number;
}

/**
 * Inference over a model whose parameters do not change for a while (an evaluation pass): the same
 * scores as `model.score(histories)`, with every part that does not depend on the user computed
 * once instead of once per batch:
 *
 * - the shared prompt prefix is run through the LLM once; its keys/values are tiled once per batch
 *   size and reused (`model.score` runs the prefix and tiles it in every batch);
 * - the item tokens of all ids 0..N are built once (the item tokenizer is a function of the id
 *   only in eval mode), and a batch's prompt rows (padding, item tokens, suffix) are one row gather
 *   from them instead of a tokenizer pass plus a slice/concat per row and a stack;
 * - the fusion weights [N + 1, terms] are computed once.
 *
 * What runs per batch is the LLM over each history's tokens (left-padded after the cached prefix)
 * and the score head over all items. The row of each user is computed as `model.score` computes it:
 * the same kernels in the same order on the same values, so the scores agree bit for bit when the
 * histories are batched the same way. Padding only appends exactly-zero attention weights; whether a
 * backend's softmax/matmul sums them in an order that moves a last bit is the backend's (ranks on
 * Beauty: see the fusion README).
 *
 * Valid only while the parameters stay as they were at construction, and in eval mode: it puts the
 * model in eval mode (no dropout) and throws from {@link score} if the model is switched back to
 * training. Holds [N + 1, tokensPerItem d] item tokens, the prefix keys/values per batch size seen
 * and the fusion weights; {@link dispose} frees them (the model is not touched).
 *
 * @example
 * const scorer = new FrozenScorer(model);
 * try {
 *   const scores = scorer.score([[3, 17, 4], [5]]); // [2, N + 1], as model.score
 *   scores.dispose();
 * } finally {
 *   scorer.dispose();
 * }
 */
export class FrozenScorer {
  readonly model: MmeSidModel;
  /** Every prompt row: [zero row, suffix rows, item tokens of ids 0..N (tokensPerItem rows each)]. */
  private readonly table: tf.Tensor2D;
  /** Hidden states of the prefix [P, d] and its keys/values per layer at batch 1. */
  private readonly prefixRows: tf.Tensor2D;
  private readonly prefixKv: { key: tf.Tensor; value: tf.Tensor }[];
  /** Prefix keys/values tiled to a batch size, per batch size. */
  private readonly tiled = new Map<number, { key: tf.Tensor; value: tf.Tensor }[]>();
  private readonly weights: tf.Tensor2D | undefined;
  private disposed = false;

  constructor(model: MmeSidModel, opts: FrozenScorerOptions = {}) {
    this.model = model;
    model.eval();
    const chunk = opts.tokenChunk ?? 4096;
    if (!Number.isInteger(chunk) || chunk < 1)
      throw new ShapeError(`FrozenScorer: tokenChunk must be a positive integer, got ${chunk}`);
    const { prompt, llm, itemTokenizer, hidden: d, numItems } = model;
    const P = prompt.prefix.length;
    const kept: tf.Tensor[] = [];
    try {
      // Every cached tensor is kept, so that building the scorer inside a tidy is safe.
      this.table = tf.tidy(() => {
        const parts: tf.Tensor[] = [tf.zeros([1, d])];
        if (prompt.suffix.length) parts.push(tf.reshape(llm.embedTokens([[...prompt.suffix]]), [-1, d]));
        for (let i = 0; i <= numItems; i += chunk) {
          const n = Math.min(chunk, numItems + 1 - i);
          parts.push(itemTokenizer.forward(tf.range(i, i + n, 1, 'int32')));
        }
        return tf.keep(tf.concat(parts, 0) as tf.Tensor2D);
      });
      kept.push(this.table);
      const cache = new KVCache(llm.config.num_hidden_layers);
      try {
        this.prefixRows = tf.tidy(() =>
          tf.keep(
            tf.reshape(llm.forward({ inputIds: [[...prompt.prefix]], cache }).lastHiddenState, [
              P,
              d,
            ]) as tf.Tensor2D,
          ),
        );
        kept.push(this.prefixRows);
        this.prefixKv = [];
        for (let i = 0; i < cache.numLayers; i++) {
          const { key, value } = cache.layer(i)!;
          const kv = { key: tf.keep(tf.clone(key)), value: tf.keep(tf.clone(value)) };
          kept.push(kv.key, kv.value);
          this.prefixKv.push(kv);
        }
      } finally {
        cache.dispose();
      }
      this.weights = model.head.kind === 'target' ? undefined : tf.keep(model.head.weights());
      if (this.weights) kept.push(this.weights);
    } catch (e) {
      tf.dispose(kept);
      throw e;
    }
  }

  /** The prefix keys/values tiled to batch B (cached; B = 1 is the prefix itself). */
  private prefixFor(B: number): { key: tf.Tensor; value: tf.Tensor }[] {
    if (B === 1) return this.prefixKv;
    let kv = this.tiled.get(B);
    if (!kv) {
      kv = this.prefixKv.map(({ key, value }) => ({
        // Kept: a caller's tidy (score() runs inside one) must not free the cache.
        key: tf.keep(tf.tile(key, [B, 1, 1, 1])),
        value: tf.keep(tf.tile(value, [B, 1, 1, 1])),
      }));
      this.tiled.set(B, kv);
    }
    return kv;
  }

  private check(): void {
    if (this.disposed) throw new MmesidError('FrozenScorer: used after dispose()');
    if (this.model.training)
      throw new MmesidError(
        'FrozenScorer: the model was put back in training mode; build a new scorer after training',
      );
  }

  /** The user representations u [B, d], as `model.userRepresentations(histories)`. */
  userRepresentations(histories: readonly ArrayLike<number>[]): tf.Tensor2D {
    this.check();
    const B = histories.length;
    if (B === 0) throw new ShapeError('FrozenScorer: empty batch');
    const { prompt, llm, numItems, hidden: d } = this.model;
    const P = prompt.prefix.length;
    const S = prompt.suffix.length;
    const k = this.model.itemTokenizer.tokensPerItem;
    const lens = histories.map((h, b) => {
      for (let i = 0; i < h.length; i++) {
        const id = h[i]!;
        if (!Number.isInteger(id) || id < 1 || id > numItems)
          throw new MmesidError(
            `sequence ${b}: item ${id} at position ${i} is not an item id in 1..${numItems}`,
          );
      }
      return h.length * k + S;
    });
    const T = Math.max(...lens);
    if (T === 0)
      return tf.tidy(() => tf.tile(tf.slice(this.prefixRows, [P - 1, 0], [1, d]), [B, 1]) as tf.Tensor2D);
    // Row indices into `table`: 0 = zero padding, 1..S = suffix, 1 + S + id k + j = token j of item id.
    const idx = new Int32Array(B * T);
    histories.forEach((h, b) => {
      let o = b * T + T - lens[b]!;
      for (let i = 0; i < h.length; i++) for (let j = 0; j < k; j++) idx[o++] = 1 + S + h[i]! * k + j;
      for (let s = 0; s < S; s++) idx[o++] = 1 + s;
    });
    const mask = lens.map((n) => {
      const row = new Array<number>(P + T).fill(1);
      row.fill(0, P, P + T - n);
      return row;
    });
    const prefix = this.prefixFor(B);
    return tf.tidy(() => {
      const rows = tf.reshape(gatherRows(this.table, tf.tensor1d(idx, 'int32')), [B, T, d]);
      const cache = new KVCache(llm.config.num_hidden_layers);
      try {
        prefix.forEach(({ key, value }, i) => {
          cache.update(i, key, value);
        });
        const rest = llm.forward({ inputsEmbeds: rows, attentionMask: mask, cache }).lastHiddenState;
        const last = tf.reshape(tf.slice(rest, [0, T - 1, 0], [B, 1, d]), [B, d]) as tf.Tensor2D;
        if (lens.every((n) => n > 0)) return last;
        // A row with no token after the prefix is represented by the prefix's last hidden state.
        const pre = tf.slice(this.prefixRows, [P - 1, 0], [1, d]);
        const pick = lens.map((n, b) => (n > 0 ? b : B));
        return gatherRows(tf.concat([last, pre], 0) as tf.Tensor2D, tf.tensor1d(pick, 'int32'));
      } finally {
        cache.dispose();
      }
    });
  }

  /** Scores of all items 0..N for each history: [B, N + 1], as `model.score(histories)`. */
  score(histories: readonly ArrayLike<number>[]): tf.Tensor2D {
    return tf.tidy(() => {
      const u = this.userRepresentations(histories);
      return this.model.head.forward(u, this.model.itemTokenizer, this.weights);
    });
  }

  /** Frees the cached tokens, prefix keys/values and fusion weights. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([this.table, this.prefixRows, ...this.prefixKv.flatMap((kv) => [kv.key, kv.value])]);
    for (const kv of this.tiled.values()) tf.dispose(kv.flatMap((x) => [x.key, x.value]));
    this.tiled.clear();
    if (this.weights) this.weights.dispose();
  }
}
