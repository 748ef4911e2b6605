import {
  Embedding,
  gatherRows,
  LayerNorm,
  Module,
  Rng,
  ShapeError,
  seededDropout,
  tf,
  xavierNormal,
} from '@mmesid/tensor';
import { CausalSelfAttention, causalPaddingBias } from './attention.js';
import { type SasrecConfig, type SasrecConfigInput, sasrecConfig } from './config.js';
import { PointWiseFeedForward } from './feed-forward.js';

/** How a new {@link SASRec} gets its weights. */
export interface SasrecInitOptions {
  /** Seed of the initial weights and of the default dropout stream (default 0). */
  seed?: number;
  /** Start from zeros because a checkpoint will be loaded (no random draws). */
  skipInit?: boolean;
}

/**
 * SASRec (Kang & McAuley, ICDM 2018) as in the reference code: item embedding (row 0 padding)
 * scaled by sqrt(d) plus a learned positional embedding, embedding dropout, `numBlocks` blocks of
 * [LayerNorm -> causal self-attention with the query from the normed input and a residual from it
 * -> LayerNorm -> point-wise feed-forward with residual], the timeline mask zeroing padded
 * positions, and a final LayerNorm. Scores are dot products with the same item table
 * (shared input/output embedding, SASRec Eq. 6).
 *
 * Inputs are item ids [B, L] padded on the LEFT with 0 (the most recent item in the last
 * column), L <= maxLen. Positions are counted from the right (the last column is always position
 * maxLen-1, as when the reference pads everything to maxLen), and padded keys are masked, so the
 * output at a real position does not depend on how much padding the batch has.
 *
 * Parameter names follow the reference (`item_emb.weight`, `attention_layers.0.in_proj_weight`,
 * `forward_layers.1.conv2.bias`, `last_layernorm.weight`, ...).
 *
 * Dropout is active when the model is in training mode (`train()`, the default) and uses
 * `dropoutRng`; `eval()` turns it off.
 *
 * @example
 * const model = new SASRec({ numItems: 12086 }, { seed: 42 });
 * model.eval();
 * const scores = tf.tidy(() => model.scoreAll(model.lastHidden(ids))); // [B, numItems + 1]
 */
export class SASRec extends Module {
  readonly config: SasrecConfig;
  readonly item_emb: Embedding;
  readonly pos_emb: Embedding;
  readonly attention_layernorms: LayerNorm[] = [];
  readonly attention_layers: CausalSelfAttention[] = [];
  readonly forward_layernorms: LayerNorm[] = [];
  readonly forward_layers: PointWiseFeedForward[] = [];
  readonly last_layernorm: LayerNorm;
  /** The stream dropout masks are drawn from while training; replace it to re-seed (e.g. per epoch). */
  dropoutRng: Rng;

  constructor(config: SasrecConfigInput, opts: SasrecInitOptions = {}) {
    super();
    const cfg = sasrecConfig(config);
    this.config = cfg;
    const d = cfg.hiddenUnits;
    const seed = opts.seed ?? 0;
    const rng = opts.skipInit ? null : new Rng(`sasrec/init/${seed}`);
    this.dropoutRng = new Rng(`sasrec/dropout/${seed}`);
    // xavier-normal as the reference's main.py does for every matrix; the padding row stays 0.
    const xavierStd = (rows: number) => Math.sqrt(2 / (rows + d));
    this.item_emb = this.setModule(
      'item_emb',
      new Embedding(
        cfg.numItems + 1,
        d,
        rng ? { rng, paddingIdx: 0, std: xavierStd(cfg.numItems + 1) } : { skipInit: true, paddingIdx: 0 },
      ),
    );
    this.pos_emb = this.setModule('pos_emb', new Embedding(cfg.maxLen, d, { skipInit: true }));
    if (rng) {
      const p = xavierNormal()([cfg.maxLen, d], rng);
      this.pos_emb.weight.assign(p);
      p.dispose();
    }
    const list = (name: string) => this.setModule(name, new Module());
    const attnNorms = list('attention_layernorms');
    const attn = list('attention_layers');
    const ffnNorms = list('forward_layernorms');
    const ffn = list('forward_layers');
    const eps = cfg.layerNormEps;
    for (let i = 0; i < cfg.numBlocks; i++) {
      this.attention_layernorms.push(attnNorms.setModule(String(i), new LayerNorm(d, { eps })));
      this.attention_layers.push(
        attn.setModule(String(i), new CausalSelfAttention(d, cfg.numHeads, cfg.dropout, rng)),
      );
      this.forward_layernorms.push(ffnNorms.setModule(String(i), new LayerNorm(d, { eps })));
      this.forward_layers.push(ffn.setModule(String(i), new PointWiseFeedForward(d, cfg.dropout, rng)));
    }
    this.last_layernorm = this.setModule('last_layernorm', new LayerNorm(d, { eps }));
  }

  /**
   * The sequence representation F (SASRec's `log2feats`) for left-padded ids [B, L] (int32):
   * [B, L, d]. Padded positions come out as LayerNorm(0) (i.e. the norm's bias) and mean nothing.
   *
   * `itemRows` optionally passes the rows of `ids` already gathered from the item table ([B, L, d]),
   * so a loss can gather inputs, positives and negatives in one op (one scatter-add in the backward
   * pass instead of three dense table-sized gradients).
   * @throws ShapeError when ids are not int32 [B, L] with L <= maxLen.
   */
  forward(ids: tf.Tensor2D, itemRows?: tf.Tensor): tf.Tensor3D {
    const { maxLen, hiddenUnits: d, dropout } = this.config;
    if (ids.rank !== 2 || ids.dtype !== 'int32')
      throw new ShapeError(`SASRec input: expected int32 ids [B, L], got ${ids.dtype} [${ids.shape}]`);
    const [B, L] = ids.shape;
    if (L > maxLen)
      throw new ShapeError(
        `SASRec input: ${L} positions but maxLen is ${maxLen}; keep the most recent ${maxLen} items`,
      );
    const rng = this.training ? this.dropoutRng : null;
    return tf.tidy(() => {
      const valid = tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D;
      const timeline = valid.reshape([B, L, 1]);
      // Padded rows contribute nothing and get no gradient: the timeline mask multiplies them by 0.
      const items = (
        itemRows ?? gatherRows(this.item_emb.weight as tf.Tensor2D, ids.reshape([-1]) as tf.Tensor1D)
      ).reshape([B, L, d]);
      const pos = this.pos_emb.weight.slice([maxLen - L, 0], [L, d]);
      let x = tf.add(tf.mul(items, Math.sqrt(d)), pos) as tf.Tensor3D;
      x = seededDropout(x, dropout, rng) as tf.Tensor3D;
      x = tf.mul(x, timeline) as tf.Tensor3D;
      const bias = causalPaddingBias(valid);
      for (let i = 0; i < this.config.numBlocks; i++) {
        const q = this.attention_layernorms[i]!.forward(x) as tf.Tensor3D;
        x = tf.add(q, this.attention_layers[i]!.forward(q, x, bias, rng)) as tf.Tensor3D;
        x = this.forward_layernorms[i]!.forward(x) as tf.Tensor3D;
        x = this.forward_layers[i]!.forward(x, rng);
        x = tf.mul(x, timeline) as tf.Tensor3D;
      }
      return this.last_layernorm.forward(x) as tf.Tensor3D;
    });
  }

  /** The representation at the last column, [B, d]: what predicts each row's next item. */
  lastHidden(ids: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.forward(ids);
      const [B, L, d] = h.shape;
      return h.slice([0, L - 1, 0], [B, 1, d]).reshape([B, d]) as tf.Tensor2D;
    });
  }

  /**
   * Scores of every item index 0..numItems (index 0 is padding) for hidden states [B, d]:
   * r = F M^T with the shared item table M (SASRec Eq. 6). Returns [B, numItems + 1].
   */
  scoreAll(hidden: tf.Tensor2D): tf.Tensor2D {
    // An explicit transpose keeps tfjs-backend-wasm on its fast (XNNPACK) path; see matmul.ts.
    return tf.tidy(() => tf.matMul(hidden, tf.transpose(this.item_emb.weight) as tf.Tensor2D));
  }

  /** The item table M as a live variable [numItems + 1, d] (row 0 padding). Do not dispose it. */
  get itemEmbeddings(): tf.Variable {
    return this.item_emb.weight;
  }
}
