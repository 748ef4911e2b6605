import { Module, type Rng, ShapeError, tf, uniform, weightedTermSum } from '@mmesid/tensor';
import type { FusionConfig } from './config.js';
import { FrequencyFusion } from './frequency-fusion.js';
import type { ItemTokenizer } from './item-tokenizer.js';

/** Options of {@link ScoreHead}. */
export interface ScoreHeadOptions {
  config: FusionConfig;
  hidden: number;
  numItems: number;
  /** Frequency feature of items 0..N (see `frequencyFeature`). */
  feature: Float32Array;
  rng?: Rng;
  skipInit?: boolean;
}

/**
 * Scores every item for a user representation u (the LLM's last hidden state):
 *
 *   s_i = w_i,0 (u . T_i) + sum_m w_i,m (u . proj_m(e_m,i))
 *
 * with T the new target-item table (the authors' `score` Linear without bias, initialised like it:
 * U(-1/sqrt(d), 1/sqrt(d))), proj_m the item tokenizer's projection of modality m (shared with the
 * tokens, as in the authors' code) and w_i the item's fusion weights. Head `'target'` keeps only
 * u . T_i; `'equal'` averages the 1 + M terms.
 *
 * T is stored transposed, `target_table_t` [d, N + 1] (the authors' `score.weight` is its
 * transpose): tfjs' WASM backend runs a matmul with a transposed operand about 10x slower, forward
 * and backward, and this product over all items is the head's main cost. For the same reason
 * u . proj_m(e_m,i) is computed as (u W_m) E_m^T + u . b_m with a cached transposed copy of the
 * frozen table E_m (never forming the [N + 1, d] projected table).
 *
 * @see MME-SID Table 2 (frequency-aware fusion); the authors' `model.py` (`pooled_logits = fre[:,0]*score(u) + ...`)
 */
export class ScoreHead extends Module {
  readonly kind: FusionConfig['head'];
  readonly numItems: number;
  readonly modalities: readonly string[];

  constructor(opts: ScoreHeadOptions) {
    super();
    const { config, hidden, numItems } = opts;
    this.kind = config.head;
    this.numItems = numItems;
    this.modalities = config.modalities;
    if (opts.feature.length !== numItems + 1)
      throw new ShapeError(
        `ScoreHead: frequency feature has ${opts.feature.length} entries, expected ${numItems + 1}`,
      );
    const bound = 1 / Math.sqrt(hidden);
    this.param(
      'target_table_t',
      opts.skipInit
        ? tf.zeros([hidden, numItems + 1])
        : uniform(-bound, bound)([hidden, numItems + 1], opts.rng!.fork('target-table')),
    );
    if (config.head === 'fusion')
      this.setModule(
        'fusion',
        new FrequencyFusion({
          terms: 1 + config.modalities.length,
          feature: opts.feature,
          ...config.fusion,
          ...(opts.skipInit ? { skipInit: true } : { rng: opts.rng!.fork('fusion') }),
        }),
      );
  }

  /** The target-item table, transposed: T^T [d, N + 1] (the live variable). */
  get targetTableT(): tf.Variable {
    return this._params.get('target_table_t')!;
  }

  /** Names of the score terms in order: `target`, then each modality. */
  get termNames(): string[] {
    return this.kind === 'target' ? ['target'] : ['target', ...this.modalities];
  }

  /** The fusion module (head `'fusion'` only). */
  get fusion(): FrequencyFusion | undefined {
    return this.childModule('fusion') as FrequencyFusion | undefined;
  }

  /** Each item's weights over {@link termNames}: [N + 1, terms] (all ones for `'target'`, 1/(1+M) for `'equal'`). */
  weights(): tf.Tensor2D {
    if (this.fusion) return this.fusion.weights();
    const t = this.termNames.length;
    return tf.fill([this.numItems + 1, t], 1 / t) as tf.Tensor2D;
  }

  /** The unweighted terms, each [B, N + 1]. */
  terms(u: tf.Tensor2D, tokens: ItemTokenizer): tf.Tensor2D[] {
    return tf.tidy(() => {
      const out: tf.Tensor2D[] = [tf.matMul(u, this.targetTableT as tf.Tensor2D)];
      if (this.kind === 'target') return out;
      for (const m of this.modalities) {
        const proj = tokens.projection(m);
        if (!proj) throw new ShapeError(`ScoreHead: modality "${m}" has no projection to score with`);
        const uw = tf.matMul(u, proj.weight as tf.Tensor2D); // [B, d_m]
        let t: tf.Tensor = tf.matMul(uw as tf.Tensor2D, tokens.tableT(m)); // [B, N + 1]
        if (proj.bias) t = tf.add(t, tf.matMul(u, tf.reshape(proj.bias, [-1, 1]) as tf.Tensor2D));
        out.push(t as tf.Tensor2D);
      }
      return out;
    });
  }

  /**
   * Scores of every item 0..N for each row of u: [B, N + 1]. `weights` may pass {@link weights}
   * computed beforehand (inference over many batches with unchanged parameters computes them once);
   * the caller keeps owning it.
   */
  forward(u: tf.Tensor2D, tokens: ItemTokenizer, weights?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const terms = this.terms(u, tokens);
      if (this.kind === 'target') return terms[0]!;
      // One kernel (and one gradient kernel) where the backend has it: sum_j w[i, j] t_j[b, i].
      return weightedTermSum(terms, weights ?? this.weights());
    });
  }
}
