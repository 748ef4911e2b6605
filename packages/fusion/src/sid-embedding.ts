import { ConfigError, Linear, Module, type Rng, ShapeError, tf } from '@mmesid/tensor';
import type { ModalitySemanticIds } from './item-data.js';

/** Options of {@link SidEmbedding}. */
export interface SidEmbeddingOptions {
  /** `'codebook'`: start from the tokenizer's codebooks (needs `sids.codebooks`); `'random'`: N(0, s^2). */
  init: 'codebook' | 'random';
  /** When the code width differs from `outDim`: a trainable Linear after the sum, or a fixed projection of the init. */
  projection: 'learned' | 'fixed';
  rng?: Rng;
  /** Zeros everywhere, to be overwritten by `loadStateDict`. */
  skipInit?: boolean;
}

/**
 * The semantic-ID embeddings of one modality: L trainable tables of K codes (parameter `codes`,
 * [L, K, width]), and each item's embedding is the sum of its L codes' rows, mapped to the LLM width
 * d when the code width differs. The items' IDs are a buffer `ids` [N + 1, L] holding `l * K + code`.
 *
 * Initialised from the MM-RQ-VAE codebooks, the sum over levels of an item is exactly its quantised
 * embedding in the tokenizer, so the LLM starts from what the tokenizer learned instead of from
 * noise; the paper shows this keeps the distance order of the collaborative space much better
 * after fine-tuning (Kendall tau 0.2727 vs 0.0508 with random init on Beauty).
 *
 * Random init draws N(0, s^2) with s the standard deviation of the codebook values (1 without
 * codebooks), so the ablation differs from the codebook init in structure, not in scale.
 *
 * @see MME-SID Table 2 (SID embeddings initialised from the codebooks); the authors' `model.py` (`nn.Embedding.from_pretrained(codebook[l], freeze=False)`)
 * @example
 * const sid = new SidEmbedding(sids.collaborative, 64, { init: 'codebook', projection: 'learned', rng: new Rng(0) });
 * const e = sid.forward(tf.tensor1d([3, 7], 'int32')); // [2, 64]
 */
export class SidEmbedding extends Module {
  readonly levels: number;
  readonly codebookSize: number;
  /** Width of the stored codes: the code width, or `outDim` after a fixed projection. */
  readonly width: number;
  codes: tf.Variable;

  constructor(
    sids: ModalitySemanticIds,
    readonly outDim: number,
    opts: SidEmbeddingOptions,
  ) {
    super();
    const { levels: L, codebookSize: K, dim: e } = sids;
    this.levels = L;
    this.codebookSize = K;
    if (sids.ids.length % L !== 0)
      throw new ShapeError(`SidEmbedding: ${sids.ids.length} ids is not a multiple of L = ${L}`);
    const rows = sids.ids.length / L;
    const offset = new Int32Array(sids.ids.length);
    for (let i = 0; i < offset.length; i++) {
      const code = sids.ids[i]!;
      if (!(code >= 0 && code < K))
        throw new ShapeError(`SidEmbedding: item ${Math.floor(i / L)} has code ${code} outside 0..${K - 1}`);
      offset[i] = (i % L) * K + code;
    }
    this.buffer('ids', tf.tensor2d(offset, [rows, L], 'int32'));
    const fixed = e !== outDim && opts.projection === 'fixed';
    this.width = fixed ? outDim : e;
    this.codes = this.param('codes', this.initialCodes(sids, opts, fixed));
    if (e !== outDim && opts.projection === 'learned')
      this.setModule(
        'proj',
        new Linear(e, outDim, {
          bias: false,
          ...(opts.skipInit ? { skipInit: true } : { rng: need(opts.rng).fork('sid-proj') }),
        }),
      );
  }

  private initialCodes(sids: ModalitySemanticIds, opts: SidEmbeddingOptions, fixed: boolean): tf.Tensor {
    const { levels: L, codebookSize: K, dim: e } = sids;
    if (opts.skipInit) return tf.zeros([L, K, this.width]);
    const rng = need(opts.rng);
    let init: Float32Array;
    if (opts.init === 'codebook') {
      if (!sids.codebooks)
        throw new ConfigError(
          'SidEmbedding: init "codebook" needs the codebooks of the semantic IDs (random IDs have none; use init "random")',
        );
      if (sids.codebooks.length !== L * K * e)
        throw new ShapeError(
          `SidEmbedding: codebooks hold ${sids.codebooks.length} values, expected L x K x dim = ${L} x ${K} x ${e}`,
        );
      init = sids.codebooks;
    } else {
      let std = 1;
      if (sids.codebooks && sids.codebooks.length > 1) {
        let s = 0;
        let s2 = 0;
        for (const v of sids.codebooks) {
          s += v;
          s2 += v * v;
        }
        const n = sids.codebooks.length;
        std = Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2)) || 1;
      }
      init = rng.fork('sid-random-init').fillNormal(new Float32Array(L * K * e), 0, std);
    }
    if (!fixed) return tf.tensor3d(Float32Array.from(init), [L, K, e]);
    // A seeded Gaussian map with N(0, 1/d) entries keeps squared norms (and distances) in expectation.
    const R = rng
      .fork('sid-fixed-proj')
      .fillNormal(new Float32Array(e * this.outDim), 0, 1 / Math.sqrt(this.outDim));
    return tf.tidy(() =>
      tf.reshape(tf.matMul(tf.tensor2d(init, [L * K, e]), tf.tensor2d(R, [e, this.outDim])), [
        L,
        K,
        this.outDim,
      ]),
    );
  }

  /**
   * The buffer `ids` [N + 1, L] (`l * K + code`). Looked up on each use: `loadStateDict` replaces
   * buffers, so a cached reference would go stale.
   */
  get ids(): tf.Tensor2D {
    return this._buffers.get('ids') as tf.Tensor2D;
  }

  /** Number of items (rows of the ID table, padding included). */
  get rows(): number {
    return this.ids.shape[0];
  }

  /** Sum of each item's L code embeddings in the code space (before any learned projection): [n, width]. */
  summed(items: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const n = items.shape[0]!;
      const flat = tf.reshape(tf.gather(this.ids, items), [-1]);
      const table = tf.reshape(this.codes, [this.levels * this.codebookSize, this.width]);
      return tf.sum(tf.reshape(tf.gather(table, flat), [n, this.levels, this.width]), 1) as tf.Tensor2D;
    });
  }

  /** Each item's SID embedding at the LLM width: [n, outDim]. `items` is int32 [n]. */
  forward(items: tf.Tensor): tf.Tensor2D {
    const proj = this.childModule('proj') as Linear | undefined;
    if (!proj) return this.summed(items);
    return tf.tidy(() => proj.forward(this.summed(items)) as tf.Tensor2D);
  }
}

function need(rng: Rng | undefined): Rng {
  if (!rng)
    throw new ConfigError(
      'SidEmbedding: pass { rng } for a seeded init, or { skipInit: true } before loading weights',
    );
  return rng;
}
