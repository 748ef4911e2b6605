import { ConfigError, Module, type Rng, ShapeError, tf } from '@mmesid/tensor';
import { DISAMBIGUATION_SEGMENT, type SidVocabulary } from './sid-vocabulary.js';

/** Options of {@link SidTokenEmbeddings}. */
export interface SidTokenEmbeddingsOptions {
  /**
   * `'random'` (default, as TIGER): N(0, s^2) with s the standard deviation of the Llama's text
   * embeddings, so new tokens start at the scale of the old ones. `'codebook'`: the row of level-l
   * code c is the tokenizer's codebook vector c of level l (mapped to the token width by a fixed
   * seeded Gaussian projection with N(0, 1/d) entries when widths differ, which keeps norms in
   * expectation); disambiguation tokens stay random. MME-SID's point is that codebook init keeps
   * what the tokenizer learned.
   */
  init?: 'random' | 'codebook';
  /**
   * Share one table between input and output (`sid_embed` only), as a model with tied word
   * embeddings would after resizing its vocabulary. Default false: a separate `sid_head`, randomly
   * initialised in both init modes.
   */
  tied?: boolean;
  /** Standard deviation of the random rows (default 0.02, Llama's `initializer_range`). */
  std?: number;
  rng?: Rng;
  /** Zeros, to be overwritten by `loadStateDict`. */
  skipInit?: boolean;
}

/**
 * The new tokens of generative retrieval: input embeddings `sid_embed` [V_sid, d] appended (logically)
 * to the Llama's `embed_tokens`, and output rows `sid_head` [V_sid, d] appended to its `lm_head`, so
 * the extended model's logits are `[lm_head(h), h sid_head^T]`. Kept as separate tables instead of
 * resizing the Llama's, so the frozen text vocabulary is never copied (Llama 3's is 128k x 4096).
 *
 * @see TIGER (new code tokens, randomly initialised); MME-SID (codebook initialisation)
 */
export class SidTokenEmbeddings extends Module {
  readonly size: number;
  readonly tied: boolean;

  constructor(
    vocab: SidVocabulary,
    readonly hidden: number,
    opts: SidTokenEmbeddingsOptions = {},
  ) {
    super();
    this.size = vocab.size;
    this.tied = opts.tied ?? false;
    const init = opts.init ?? 'random';
    if (!opts.skipInit && !opts.rng)
      throw new ConfigError('SidTokenEmbeddings: pass { rng } for a seeded init, or { skipInit: true }');
    const std = opts.std ?? 0.02;
    const embed = opts.skipInit
      ? new Float32Array(vocab.size * hidden)
      : opts.rng!.fork('sid-embed').fillNormal(new Float32Array(vocab.size * hidden), 0, std);
    if (!opts.skipInit && init === 'codebook') {
      const rng = opts.rng!.fork('sid-codebook-proj');
      const projections = new Map<string, Float32Array | null>();
      for (const slot of vocab.slots) {
        if (slot.segment === DISAMBIGUATION_SEGMENT) continue;
        const seg = vocab.segmentCodes(slot.segment)!;
        if (!seg.codebooks || !seg.dim)
          throw new ConfigError(
            `SidTokenEmbeddings: init "codebook" needs the codebooks (and dim) of segment "${slot.segment}"; use init "random"`,
          );
        const e = seg.dim;
        if (seg.codebooks.length !== seg.levels * seg.codebookSize * e)
          throw new ShapeError(
            `SidTokenEmbeddings: segment "${slot.segment}" codebooks hold ${seg.codebooks.length} values, expected ${seg.levels} x ${seg.codebookSize} x ${e}`,
          );
        if (!projections.has(slot.segment))
          projections.set(
            slot.segment,
            e === hidden
              ? null
              : rng.fork(slot.segment).fillNormal(new Float32Array(e * hidden), 0, 1 / Math.sqrt(hidden)),
          );
        const R = projections.get(slot.segment)!;
        for (let c = 0; c < slot.size; c++) {
          const src = (slot.level * seg.codebookSize + c) * e;
          const dst = (slot.offset + c) * hidden;
          if (!R) embed.set(seg.codebooks.subarray(src, src + e), dst);
          else
            for (let j = 0; j < hidden; j++) {
              let s = 0;
              for (let k = 0; k < e; k++) s += seg.codebooks[src + k]! * R[k * hidden + j]!;
              embed[dst + j] = s;
            }
        }
      }
    }
    this.param('sid_embed', tf.tensor2d(embed, [vocab.size, hidden]));
    if (!this.tied) {
      const head = opts.skipInit
        ? new Float32Array(vocab.size * hidden)
        : opts.rng!.fork('sid-head').fillNormal(new Float32Array(vocab.size * hidden), 0, std);
      this.param('sid_head', tf.tensor2d(head, [vocab.size, hidden]));
    }
  }

  /** Input table [V_sid, d] (live variable; do not dispose). */
  get embedWeight(): tf.Variable {
    return this._params.get('sid_embed')!;
  }

  /** Output table [V_sid, d] (the input table when tied). */
  get headWeight(): tf.Variable {
    return this._params.get(this.tied ? 'sid_embed' : 'sid_head')!;
  }

  /** Rows of `sid_embed` for SID token indices (int32 tensor of any shape) -> [..., d]. */
  embed(tokens: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.gather(this.embedWeight, tokens));
  }

  /** SID logits h sid_head^T: [..., d] -> [..., V_sid]. */
  logits(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = hidden.shape.slice(0, -1);
      const flat = tf.reshape(hidden, [-1, this.hidden]) as tf.Tensor2D;
      return tf.reshape(tf.matMul(flat, this.headWeight, false, true), [...lead, this.size]);
    });
  }
}
