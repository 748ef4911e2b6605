import { gelu, Linear, Module, type Rng, ShapeError, tf } from '@mmesid/tensor';

/** Options of {@link FrequencyFusion}. */
export interface FrequencyFusionOptions {
  /** Number of score terms: 1 (the target table) + the number of modalities. */
  terms: number;
  /** The frequency feature of items 0..N, log(1 + f) min-max normalised (see `frequencyFeature`). */
  feature: Float32Array;
  temperature: number;
  hidden: number;
  metaDim: number;
  metaHidden: number;
  rng?: Rng;
  skipInit?: boolean;
}

/**
 * The frequency-aware fusion module: each item's normalised log frequency goes through an MLP
 * (1 -> 64 -> 10, GELU) and a second MLP (10 -> 64 -> 1 + M, GELU, first layer without bias), and a
 * softmax with temperature turns the 1 + M outputs into the item's weights over the score terms
 * (target table, then each modality). Popular and rare items can so lean on different sources:
 * the learned table for items seen often, the modality embeddings for the long tail.
 *
 * Parameter names follow the authors' `nn.Sequential`s: `mlp_head.0`, `mlp_head.2`,
 * `mlp_meta_embedding.0` (no bias), `mlp_meta_embedding.2`. The feature is stored as its distinct
 * values (buffer `feature_values` [U, 1]) and each item's index into them (`feature_index` [N + 1]):
 * items with the same training frequency get the same weights, so the MLPs run on U rows (a few
 * hundred on Beauty) instead of N + 1, and the result is gathered per item; exact, and much cheaper.
 *
 * @see MME-SID Table 2 (frequency-aware fusion); the authors' `model.py` (`mlp_head`, `mlp_meta_embedding`, `Softmax(fre / temp)`)
 * @example
 * const fusion = new FrequencyFusion({ terms: 4, feature, temperature: 1e-3, hidden: 64, metaDim: 10, metaHidden: 64, rng });
 * const w = fusion.weights(); // [N + 1, 4], rows sum to 1
 */
export class FrequencyFusion extends Module {
  readonly terms: number;
  temperature: number;

  constructor(opts: FrequencyFusionOptions) {
    super();
    if (opts.terms < 1) throw new ShapeError(`FrequencyFusion: needs at least one term, got ${opts.terms}`);
    this.terms = opts.terms;
    this.temperature = opts.temperature;
    const distinct = [...new Set(opts.feature)].sort((a, b) => a - b);
    const where = new Map(distinct.map((v, i) => [v, i]));
    this.buffer('feature_values', tf.tensor2d(Float32Array.from(distinct), [distinct.length, 1], 'float32'));
    this.buffer(
      'feature_index',
      tf.tensor1d(
        Int32Array.from(opts.feature, (v) => where.get(v)!),
        'int32',
      ),
    );
    const init = (label: string, bias = true) => ({
      bias,
      ...(opts.skipInit ? { skipInit: true } : { rng: opts.rng!.fork(label) }),
    });
    if (!opts.skipInit && !opts.rng)
      throw new ShapeError('FrequencyFusion: pass { rng } or { skipInit: true }');
    const head = this.setModule('mlp_head', new Module());
    head.setModule('0', new Linear(1, opts.hidden, init('fusion-head-0')));
    head.setModule('2', new Linear(opts.hidden, opts.metaDim, init('fusion-head-2')));
    const meta = this.setModule('mlp_meta_embedding', new Module());
    meta.setModule('0', new Linear(opts.metaDim, opts.metaHidden, init('fusion-meta-0', false)));
    meta.setModule('2', new Linear(opts.metaHidden, opts.terms, init('fusion-meta-2')));
  }

  // Buffers are looked up on each use: `loadStateDict` replaces them, so a cached reference would go stale.
  private get values(): tf.Tensor2D {
    return this._buffers.get('feature_values') as tf.Tensor2D;
  }

  private get index(): tf.Tensor1D {
    return this._buffers.get('feature_index') as tf.Tensor1D;
  }

  /** Items covered (N + 1). */
  get rows(): number {
    return this.index.shape[0];
  }

  /** The feature of every item, [N + 1, 1] (a new tensor). */
  feature(): tf.Tensor2D {
    return tf.gather(this.values, this.index) as tf.Tensor2D;
  }

  /** The pre-softmax outputs for each distinct feature value, [U, terms]. */
  private distinctLogits(): tf.Tensor2D {
    return tf.tidy(() => {
      const l = (p: string) => this.getModule(p) as Linear;
      const meta = l('mlp_head.2').forward(gelu(l('mlp_head.0').forward(this.values)));
      return l('mlp_meta_embedding.2').forward(gelu(l('mlp_meta_embedding.0').forward(meta))) as tf.Tensor2D;
    });
  }

  /** The pre-softmax outputs of every item, [N + 1, terms]. */
  logits(): tf.Tensor2D {
    return tf.tidy(() => tf.gather(this.distinctLogits(), this.index) as tf.Tensor2D);
  }

  /** Each item's weights over the score terms, softmax(logits / temperature): [N + 1, terms], rows sum to 1. */
  weights(): tf.Tensor2D {
    return tf.tidy(
      () => tf.gather(tf.softmax(tf.div(this.distinctLogits(), this.temperature)), this.index) as tf.Tensor2D,
    );
  }
}
