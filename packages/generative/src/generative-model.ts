import { KVCache, type LlamaForCausalLM } from '@mmesid/llama';
import { applyLora, getLora, type LoraModel, type LoraOptions } from '@mmesid/lora';
import { ConfigError, Module, Rng, ShapeError, tf } from '@mmesid/tensor';
import { rankingGuidedLoss } from './baselines/letter-losses.js';
import { type BeamSearchResult, beamSearch, type SidStepDecoder } from './beam-search.js';
import { reorderCache, reorderCacheOnHost } from './kv-reorder.js';
import { SidTokenEmbeddings } from './sid-tokens.js';
import { SidTrie } from './sid-trie.js';
import type { SidVocabulary } from './sid-vocabulary.js';

/** The text around the history: `prefix` ids, the history's SID tokens, `suffix` ids (then the target). */
export interface GenerativePrompt {
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
}

/** MME-SID's LoRA (Table 4): r 8, alpha 16, dropout 0.05 on gate/up/down_proj. */
export const GENERATIVE_LORA: Readonly<LoraOptions> = Object.freeze({
  r: 8,
  alpha: 16,
  dropout: 0.05,
  targetModules: ['gate_proj', 'up_proj', 'down_proj'],
});

/** Options of {@link GenerativeRecommender}. */
export interface GenerativeRecommenderOptions {
  /** The Llama (taken over: LoRA is applied in place and `dispose()` frees it). */
  lm: LlamaForCausalLM;
  vocab: SidVocabulary;
  /** Instruction text ids around the history (e.g. `@mmesid/fusion`'s `buildPrompt(tok)`). */
  prompt: GenerativePrompt;
  /** New-token init (see {@link SidTokenEmbeddings}); default `'random'` as TIGER. */
  init?: 'random' | 'codebook';
  /** Share the SID input and output tables; default: when the Llama has no separate `lm_head`. */
  tied?: boolean;
  /**
   * LoRA on the Llama (default {@link GENERATIVE_LORA}, as MME-SID); null trains the new tokens only.
   * Ignored when the Llama already carries adapters (e.g. loaded from a checkpoint).
   */
  lora?: LoraOptions | null;
  /**
   * The softmax of training and decoding: `'vocabulary'` (default) over text and SID tokens together,
   * exactly an LLM whose vocabulary was extended; `'sid'` over the SID tokens only (a T5-style TIGER
   * whose output vocabulary is the codes).
   */
  normalize?: 'vocabulary' | 'sid';
  /** Most recent history items kept in a prompt (default 20). */
  maxHistory?: number;
  seed?: number;
  /**
   * Standard deviation of the randomly initialised new rows. Default 0.02 (Llama's
   * `initializer_range`); {@link GenerativeRecommender.create} uses the text embeddings' own.
   */
  tokenStd?: number;
  /** Zeros for the new tokens, to be overwritten by loading (what the checkpoint loader uses). */
  skipInit?: boolean;
  /**
   * How beam search re-forms the KV cache rows at every step: `'gather'` (default, `tf.gather` on
   * the backend) or `'host'` (read back and copy row blocks in host memory; several times faster on
   * the CPU backends, a device round trip on a GPU one). Same result either way.
   */
  cacheReorder?: 'gather' | 'host';
}

/** One training example: a user's history and the next item. */
export interface GenerativeExample {
  readonly history: ArrayLike<number>;
  readonly target: number;
}

/** Options of {@link GenerativeRecommender.recommend}. */
export interface RecommendOptions {
  /** Beams per user (default 20, enough to report @20). */
  beamWidth?: number;
  /** Items returned (default beamWidth). */
  topK?: number;
  /** Hide each user's history items, as the full-ranking metrics do (default true). */
  excludeHistory?: boolean;
}

/**
 * Generative retrieval over semantic IDs on a Llama (TIGER's recipe on a decoder-only LLM, as LC-Rec
 * and LETTER do): every SID code is a new token (input row in `sid_tokens.sid_embed`, output row in
 * `sid_tokens.sid_head`), a history is written as its items' SID tokens after the instruction, the
 * model is trained by next-token cross-entropy on the target item's SIDs with LoRA, and items are
 * retrieved by trie-constrained beam search reusing the Llama's KV cache.
 *
 * Module paths: `llm.*` (the Llama with PEFT-named adapters), `sid_tokens.*`.
 *
 * @see TIGER (Rajput et al., NeurIPS'23); MME-SID Table 3 (TIGER-MM, LETTER)
 * @example
 * const gen = new GenerativeRecommender({ lm, vocab, prompt: buildPrompt(tok, { style: 'minimal' }) });
 * const [top] = await gen.recommend([[12, 7, 40]], { beamWidth: 20 });
 * top.items; // Int32Array of 20 item ids, best first
 */
export class GenerativeRecommender extends Module {
  readonly vocab: SidVocabulary;
  readonly trie: SidTrie;
  readonly prompt: GenerativePrompt;
  /** Size of the Llama's text vocabulary; SID token s has id `textVocab + s`. */
  readonly textVocab: number;
  readonly hidden: number;
  readonly normalize: 'vocabulary' | 'sid';
  readonly maxHistory: number;
  readonly lora: LoraModel<LlamaForCausalLM> | null;
  readonly init: 'random' | 'codebook';
  /** See {@link GenerativeRecommenderOptions.cacheReorder}; may be changed between calls. */
  cacheReorder: 'gather' | 'host';

  constructor(opts: GenerativeRecommenderOptions) {
    super();
    const { lm, vocab } = opts;
    this.vocab = vocab;
    this.trie = SidTrie.fromVocabulary(vocab);
    this.textVocab = lm.config.vocab_size;
    this.hidden = lm.config.hidden_size;
    this.normalize = opts.normalize ?? 'vocabulary';
    this.maxHistory = opts.maxHistory ?? 20;
    this.init = opts.init ?? 'random';
    this.cacheReorder = opts.cacheReorder ?? 'gather';
    if (!(Number.isInteger(this.maxHistory) && this.maxHistory >= 1))
      throw new ConfigError(
        `GenerativeRecommender: maxHistory must be an integer >= 1, got ${this.maxHistory}`,
      );
    for (const id of [...opts.prompt.prefix, ...opts.prompt.suffix])
      if (!(Number.isInteger(id) && id >= 0 && id < this.textVocab))
        throw new ShapeError(
          `GenerativeRecommender: prompt token ${id} is outside the text vocabulary [0, ${this.textVocab})`,
        );
    if (opts.prompt.prefix.length === 0)
      throw new ConfigError(
        'GenerativeRecommender: the prompt prefix is empty (an empty history would leave nothing to decode from)',
      );
    this.prompt = { prefix: [...opts.prompt.prefix], suffix: [...opts.prompt.suffix] };
    const existing = getLora(lm) as LoraModel<LlamaForCausalLM> | undefined;
    const loraOpts = opts.lora === undefined ? GENERATIVE_LORA : opts.lora;
    this.lora = existing ?? (loraOpts ? applyLora(lm, { seed: opts.seed ?? 0, ...loraOpts }) : null);
    if (!this.lora) lm.setTrainable(false);
    this.setModule('llm', lm);
    const std = opts.tokenStd ?? 0.02;
    this.setModule(
      'sid_tokens',
      new SidTokenEmbeddings(vocab, this.hidden, {
        init: this.init,
        tied: opts.tied ?? !lm.hasLmHead,
        std,
        ...(opts.skipInit ? { skipInit: true } : { rng: new Rng(`generative:${opts.seed ?? 0}`) }),
      }),
    );
  }

  /**
   * Like the constructor, but random new rows take the standard deviation of the Llama's text
   * embeddings (read asynchronously, so every backend works), so new tokens start at their scale.
   */
  static async create(opts: GenerativeRecommenderOptions): Promise<GenerativeRecommender> {
    const tokenStd = opts.tokenStd ?? (await embeddingStd(opts.lm));
    return new GenerativeRecommender({ ...opts, tokenStd });
  }

  get lm(): LlamaForCausalLM {
    return this.childModule('llm') as LlamaForCausalLM;
  }

  get sidTokens(): SidTokenEmbeddings {
    return this.childModule('sid_tokens') as SidTokenEmbeddings;
  }

  /**
   * The prompt of a history in the extended id space: prefix, the SID tokens of the last
   * `maxHistory` items (0 = padding is skipped), suffix.
   */
  promptIds(history: ArrayLike<number>): number[] {
    const items: number[] = [];
    for (let i = 0; i < history.length; i++) if (history[i] !== 0) items.push(history[i]!);
    const ids = [...this.prompt.prefix];
    for (const item of items.slice(-this.maxHistory))
      for (const s of this.vocab.historyTokens(item)) ids.push(this.textVocab + s);
    ids.push(...this.prompt.suffix);
    return ids;
  }

  /**
   * Input embeddings of rows of extended ids (text ids < textVocab, SID ids after): [B, T, d].
   * Rows must have equal length. The caller owns the result.
   */
  embedIds(rows: readonly (readonly number[])[]): tf.Tensor {
    const B = rows.length;
    const T = rows[0]?.length ?? 0;
    const textIds: number[][] = [];
    const sidIds = new Int32Array(B * T);
    const isSid = new Float32Array(B * T);
    const limit = this.textVocab + this.vocab.size;
    rows.forEach((row, b) => {
      if (row.length !== T) throw new ShapeError(`embedIds: row ${b} has ${row.length} ids, row 0 has ${T}`);
      textIds.push(
        row.map((id, t) => {
          if (!(Number.isInteger(id) && id >= 0 && id < limit))
            throw new ShapeError(`embedIds: id ${id} outside the extended vocabulary [0, ${limit})`);
          if (id < this.textVocab) return id;
          sidIds[b * T + t] = id - this.textVocab;
          isSid[b * T + t] = 1;
          return 0;
        }),
      );
    });
    return tf.tidy(() => {
      const text = this.lm.embedTokens(textIds);
      const sid = this.sidTokens.embed(tf.tensor2d(sidIds, [B, T], 'int32'));
      const m = tf.tensor3d(isSid, [B, T, 1]);
      return tf.add(tf.mul(text, tf.sub(1, m)), tf.mul(sid, m));
    });
  }

  /** Log-probabilities of the SID tokens given hidden states [..., d] -> [..., V_sid] (see `normalize`). */
  sidLogProbs(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const sid = this.sidTokens.logits(hidden);
      if (this.normalize === 'sid') return tf.logSoftmax(sid);
      const all = tf.concat([this.lm.logits(hidden), sid], -1);
      const lp = tf.logSoftmax(all);
      return tf.slice(
        lp,
        [...new Array(hidden.rank - 1).fill(0), this.textVocab],
        [...new Array(hidden.rank - 1).fill(-1), this.vocab.size],
      );
    });
  }

  /**
   * Mean next-token cross-entropy over the target items' SID tokens (teacher forcing). Each row is
   * `prompt(history) + target SIDs`, left-padded, so the targets are the last `targetLength`
   * positions of every row. With `temperature` tau != 1 the softmax is over logits / tau: LETTER's
   * ranking-guided generation loss ({@link rankingGuidedLoss}); tau = 1 (default) is TIGER's loss.
   * Decoding is not affected. Differentiable; call inside a training step.
   *
   * @see TIGER's training objective; LETTER's ranking-guided generation loss; MME-SID fine-tuning (LoRA)
   */
  loss(batch: readonly GenerativeExample[], opts: { temperature?: number } = {}): tf.Scalar {
    if (batch.length === 0) throw new ConfigError('GenerativeRecommender.loss: empty batch');
    const D = this.vocab.targetLength;
    const seqs = batch.map((ex) => [
      ...this.promptIds(ex.history),
      ...Array.from(this.vocab.target(ex.target), (s) => this.textVocab + s),
    ]);
    const { rows, mask } = leftPad(seqs);
    const T = rows[0]!.length;
    // Labels are columns of the softmax: SID token s is column textVocab + s when the softmax also
    // covers the text vocabulary, s when it is over the SID tokens only.
    const offset = this.normalize === 'sid' ? 0 : this.textVocab;
    const labels = new Int32Array(batch.length * D);
    batch.forEach((ex, b) => {
      this.vocab.target(ex.target).forEach((s, t) => {
        labels[b * D + t] = offset + s;
      });
    });
    return tf.tidy(() => {
      const emb = this.embedIds(rows);
      const out = this.lm.forward({ inputsEmbeds: emb, attentionMask: mask, returnLogits: false });
      // Position p predicts token p + 1: the D targets are predicted from positions T-D-1 .. T-2.
      const h = tf.slice(out.lastHiddenState, [0, T - D - 1, 0], [-1, D, -1]);
      const logits = this.outputLogits(h);
      return rankingGuidedLoss(tf.reshape(logits, [batch.length * D, -1]), labels, opts.temperature ?? 1);
    });
  }

  /**
   * The logits of the output softmax for hidden states [..., d]: [..., textVocab + V_sid] (text
   * then SID tokens) with `normalize: 'vocabulary'`, [..., V_sid] with `'sid'`.
   */
  outputLogits(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const sid = this.sidTokens.logits(hidden);
      return this.normalize === 'sid' ? sid : tf.concat([this.lm.logits(hidden), sid], -1);
    });
  }

  /** A step decoder over the prompts of these histories, for {@link beamSearch}. Call `dispose()` after. */
  decoder(histories: readonly ArrayLike<number>[]): LlamaSidDecoder {
    return new LlamaSidDecoder(
      this,
      histories.map((h) => this.promptIds(h)),
    );
  }

  /**
   * Top items per history by trie-constrained beam search (the model in eval mode during the call).
   * Scores are sequence log-probabilities.
   */
  async recommend(
    histories: readonly ArrayLike<number>[],
    opts: RecommendOptions = {},
  ): Promise<BeamSearchResult[]> {
    if (histories.length === 0) return [];
    const wasTraining = this.training;
    this.eval();
    const dec = this.decoder(histories);
    try {
      return await beamSearch(dec, this.trie, histories.length, {
        beamWidth: opts.beamWidth ?? 20,
        ...(opts.topK !== undefined ? { topK: opts.topK } : {}),
        ...((opts.excludeHistory ?? true) ? { exclude: histories } : {}),
      });
    } finally {
      dec.dispose();
      this.train(wasTraining);
    }
  }
}

/**
 * {@link SidStepDecoder} on the Llama: the prompts run once (left-padded batch), then each step gathers
 * the KV cache rows of the surviving beams' parents and feeds one SID token per row.
 */
export class LlamaSidDecoder implements SidStepDecoder {
  readonly vocabSize: number;
  private cache: KVCache;
  private mask: number[][] = [];
  /** Forward passes run (prefill + steps), for reports. */
  forwards = 0;

  constructor(
    private readonly model: GenerativeRecommender,
    private readonly prompts: number[][],
  ) {
    this.vocabSize = model.vocab.size;
    this.cache = new KVCache(model.lm.config.num_hidden_layers);
  }

  async first(): Promise<Float32Array> {
    const { rows, mask } = leftPad(this.prompts);
    this.mask = mask;
    const emb = this.model.embedIds(rows);
    return this.run(emb);
  }

  async next(parents: Int32Array, tokens: Int32Array): Promise<Float32Array> {
    this.cache =
      this.model.cacheReorder === 'host'
        ? await reorderCacheOnHost(this.cache, parents)
        : reorderCache(this.cache, parents);
    this.mask = Array.from(parents, (p) => [...this.mask[p]!, 1]);
    const emb = tf.tidy(() => this.model.sidTokens.embed(tf.tensor2d(tokens, [tokens.length, 1], 'int32')));
    return this.run(emb);
  }

  private async run(emb: tf.Tensor): Promise<Float32Array> {
    this.forwards++;
    let lpT: tf.Tensor;
    try {
      const out = this.model.lm.forward({
        inputsEmbeds: emb,
        attentionMask: this.mask,
        cache: this.cache,
        returnLogits: false,
      });
      lpT = tf.tidy(() => {
        const T = out.lastHiddenState.shape[1]!;
        const last = tf.squeeze(tf.slice(out.lastHiddenState, [0, T - 1, 0], [-1, 1, -1]), [1]);
        return this.model.sidLogProbs(last);
      });
      out.lastHiddenState.dispose();
    } finally {
      emb.dispose();
    }
    try {
      return (await lpT.data()) as Float32Array;
    } finally {
      lpT.dispose();
    }
  }

  dispose(): void {
    this.cache.dispose();
  }
}

/** Left-pads rows with id 0 and returns the padding mask (1 = real token). */
export function leftPad(seqs: readonly (readonly number[])[]): { rows: number[][]; mask: number[][] } {
  const T = Math.max(...seqs.map((s) => s.length));
  return {
    rows: seqs.map((s) => [...new Array(T - s.length).fill(0), ...s]),
    mask: seqs.map((s) => [...new Array(T - s.length).fill(0), ...new Array(s.length).fill(1)]),
  };
}

/** Standard deviation of the Llama's input embedding table. */
export async function embeddingStd(lm: LlamaForCausalLM): Promise<number> {
  const v = tf.tidy(() => tf.moments(lm.model.embedWeight).variance);
  try {
    return Math.sqrt((await v.data())[0]!) || 0.02;
  } finally {
    v.dispose();
  }
}
