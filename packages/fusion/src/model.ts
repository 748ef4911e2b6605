import { KVCache, type LlamaModel } from '@mmesid/llama';
import { applyLora, getLora, type LoraModel, trainableSummary } from '@mmesid/lora';
import { infoNce } from '@mmesid/rqvae';
import { MmesidError, Module, Rng, ShapeError, softmaxCrossEntropy, tf } from '@mmesid/tensor';
import type { FusionConfig } from './config.js';
import type { ItemTable, SemanticIds } from './item-data.js';
import { ItemTokenizer } from './item-tokenizer.js';
import type { PromptTemplate } from './prompt.js';
import { ScoreHead } from './score-head.js';

/** State-dict key of the frequency feature [N + 1] that every model keeps (also without a fusion head). */
export const FREQUENCY_KEY = 'frequency_feature';

/** Everything an {@link MmeSidModel} is made of. `createMmeSid` assembles these from files. */
export interface MmeSidParts {
  config: FusionConfig;
  /** The backbone (Hugging Face `LlamaModel`, no LM head). The model takes ownership and adds LoRA to it. */
  llm: LlamaModel;
  prompt: PromptTemplate;
  /** The largest item id N; items are 1..N and 0 is padding. */
  numItems: number;
  /** Original item embeddings per modality, N + 1 rows (frozen inside the model). */
  tables: Readonly<Record<string, ItemTable>>;
  /** Semantic IDs per modality (needed when the config uses SIDs). */
  semanticIds?: SemanticIds;
  /** Frequency feature of items 0..N (see `frequencyFeature`). */
  frequencyFeature: Float32Array;
  /**
   * `'apply'` (default): add fresh LoRA adapters (B = 0) unless the LLM already has some; `'none'`:
   * no adapters (a merged LLM loaded for inference).
   */
  lora?: 'apply' | 'none';
  /** Zeros for every trainable tensor, to be overwritten by `loadStateDict` (loading a saved run). */
  skipInit?: boolean;
}

/** A representation request of the efficient mode: feed `items`, read the prefix representations of lengths `prefixLengths`. */
export interface PrefixRequest {
  readonly items: ArrayLike<number>;
  /** Each in 0..items.length: t means "the history is items[0..t)". */
  readonly prefixLengths: readonly number[];
}

/** Trainable-parameter counts, total and by group. */
export interface ParameterSummary {
  trainable: number;
  all: number;
  percent: number;
  /** PEFT's `print_trainable_parameters` line. */
  text: string;
  /** Trainable scalars in the LoRA adapters, the item-token builder and the scoring head. */
  groups: { lora: number; itemTokenizer: number; head: number };
}

/**
 * The MME-SID model: a Llama backbone with LoRA on gate/up/down projections, the item-token builder
 * ({@link ItemTokenizer}) and the scoring head ({@link ScoreHead}). A user's history becomes the prompt
 * `prefix, item tokens, suffix` (left-padded in a batch, with an attention mask and positions that
 * count from each row's first real token, so a row's result does not depend on its batch); the last
 * hidden state at the last position is the user representation u, which scores all N + 1 items.
 *
 * Every LLM weight is frozen; trainable are LoRA's A and B, the modality projections, the SID
 * embeddings (and their learned projection), the token MLP, the target-item table and the fusion
 * module. Module paths: `llm.*` (PEFT-style `...gate_proj.lora_A.weight`), `item_tokenizer.*`, `head.*`.
 *
 * Memory: every method returns tensors the caller disposes; `dispose()` frees the whole model.
 *
 * @see MME-SID fine-tuning stage; the authors' `model.py` (`LLM4Rec.predict`)
 * @example
 * const model = await createMmeSid({ variant: 'MME-SID', ... });
 * const scores = model.score([[3, 17, 4]]); // [1, N + 1]
 * scores.dispose();
 */
export class MmeSidModel extends Module {
  readonly config: FusionConfig;
  readonly prompt: PromptTemplate;
  readonly numItems: number;
  /** The LLM width d. */
  readonly hidden: number;
  readonly lora: LoraModel<LlamaModel> | null;
  /**
   * Run a batch's shared prompt prefix once and reuse its keys/values (default true). The result is
   * the same up to float rounding; false feeds every row its whole prompt (useful to cross-check).
   */
  sharePrefix = true;

  constructor(parts: MmeSidParts) {
    super();
    const { config, llm, numItems } = parts;
    this.config = config;
    this.prompt = parts.prompt;
    this.numItems = numItems;
    this.hidden = llm.config.hidden_size;
    if (parts.frequencyFeature.length !== numItems + 1)
      throw new ShapeError(
        `MmeSidModel: frequency feature has ${parts.frequencyFeature.length} entries, expected ${numItems + 1}`,
      );
    if (parts.prompt.prefix.length === 0)
      throw new ShapeError(
        'MmeSidModel: the prompt prefix is empty; an empty history would have nothing to represent',
      );
    if (config.itemsAtEnd && parts.prompt.suffix.length > 0)
      throw new ShapeError(
        'MmeSidModel: config.itemsAtEnd is set but the prompt has a suffix; build it with buildPrompt(tok, { itemsAtEnd: true })',
      );
    this.buffer(FREQUENCY_KEY, tf.tensor1d(parts.frequencyFeature, 'float32'));
    const existing = getLora(llm);
    this.lora =
      existing ??
      ((parts.lora ?? 'apply') === 'apply'
        ? applyLora(llm, { ...config.lora, targetModules: [...config.lora.targetModules], seed: config.seed })
        : null);
    if (!this.lora) llm.setTrainable(false);
    this.setModule('llm', llm);
    const rng = parts.skipInit ? undefined : new Rng(`mmesid:${config.seed}`);
    this.setModule(
      'item_tokenizer',
      new ItemTokenizer({
        config,
        hidden: this.hidden,
        numItems,
        tables: parts.tables,
        ...(parts.semanticIds ? { semanticIds: parts.semanticIds } : {}),
        ...(rng ? { rng: rng.fork('item-tokenizer') } : { skipInit: true }),
      }),
    );
    this.setModule(
      'head',
      new ScoreHead({
        config,
        hidden: this.hidden,
        numItems,
        feature: parts.frequencyFeature,
        ...(rng ? { rng: rng.fork('head') } : { skipInit: true }),
      }),
    );
  }

  /** The backbone (with its LoRA adapters). */
  get llm(): LlamaModel {
    return this.childModule('llm') as LlamaModel;
  }

  /**
   * The item-token builder (module path `item_tokenizer`): item ids -> the LLM's input embeddings of
   * the items. Not the LLM's text tokenizer, nor the semantic-ID tokenizer (MM-RQ-VAE) of @mmesid/rqvae.
   */
  get itemTokenizer(): ItemTokenizer {
    return this.childModule('item_tokenizer') as ItemTokenizer;
  }

  /** @deprecated the same module as {@link itemTokenizer}, under a name that did not say which tokenizer. */
  get tokens(): ItemTokenizer {
    return this.itemTokenizer;
  }

  /** The scoring head. */
  get head(): ScoreHead {
    return this.childModule('head') as ScoreHead;
  }

  /** Names of the fusion terms (`target`, then modalities), the columns of {@link fusionWeights}. */
  get termNames(): string[] {
    return this.head.termNames;
  }

  private checkItems(items: ArrayLike<number>, what: string): void {
    for (let i = 0; i < items.length; i++) {
      const id = items[i]!;
      if (!Number.isInteger(id) || id < 1 || id > this.numItems)
        throw new MmesidError(
          `${what}: item ${id} at position ${i} is not an item id in 1..${this.numItems}`,
        );
    }
  }

  /**
   * The one place prompts are assembled. Row b is `[padding, prefix, tokens of sequences[b],
   * suffix]` (without `prefix` when `withPrefix` is false: the shared-prefix path feeds it once,
   * through the KV cache), left-padded with zeros to the longest row. Each item contributes
   * `tokens.tokensPerItem` consecutive tokens. Returns the rows [B, L, d], each row's real length
   * and its padding.
   */
  private assemblePrompts(
    sequences: readonly ArrayLike<number>[],
    withPrefix: boolean,
  ): { rows: tf.Tensor3D; lens: number[]; padding: number[] } {
    if (sequences.length === 0) throw new ShapeError('assemblePrompts: empty batch');
    for (const [b, s] of sequences.entries()) this.checkItems(s, `sequence ${b}`);
    const P = withPrefix ? this.prompt.prefix.length : 0;
    const S = this.prompt.suffix.length;
    const k = this.tokens.tokensPerItem;
    const d = this.hidden;
    const lens = sequences.map((s) => P + s.length * k + S);
    const L = Math.max(...lens);
    const padding = lens.map((n) => L - n);
    const flat = new Int32Array(sequences.reduce((a, s) => a + s.length, 0));
    let o = 0;
    for (const s of sequences) for (let i = 0; i < s.length; i++) flat[o++] = s[i]!;
    const rows = tf.tidy(() => {
      const pre = P ? tf.reshape(this.llm.embedTokens([[...this.prompt.prefix]]), [P, d]) : null;
      const suf = S ? tf.reshape(this.llm.embedTokens([[...this.prompt.suffix]]), [S, d]) : null;
      const tokens = flat.length ? this.tokens.forward(tf.tensor1d(flat, 'int32')) : null;
      let off = 0;
      return tf.stack(
        sequences.map((s, b) => {
          const parts: tf.Tensor[] = [];
          if (padding[b]! > 0) parts.push(tf.zeros([padding[b]!, d]));
          if (pre) parts.push(pre);
          if (s.length) parts.push(tf.slice(tokens!, [off * k, 0], [s.length * k, d]));
          off += s.length;
          if (suf) parts.push(suf);
          // An empty history without prefix or suffix (items at the end, shared prefix): no rows.
          if (parts.length === 0) return tf.zeros([0, d]);
          return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
        }),
      ) as tf.Tensor3D;
    });
    return { rows, lens, padding };
  }

  /**
   * Builds the left-padded prompt embeddings of a batch: row b is `[padding, prefix, tokens of
   * sequences[b], suffix]`. Returns the embeddings [B, L, d], the attention mask and each row's
   * padding length.
   */
  embedPrompts(sequences: readonly ArrayLike<number>[]): {
    embeds: tf.Tensor3D;
    mask: number[][];
    padding: number[];
  } {
    const { rows, lens, padding } = this.assemblePrompts(sequences, true);
    const L = rows.shape[1];
    const mask = lens.map((n) => {
      const row = new Array<number>(L).fill(0);
      row.fill(1, L - n);
      return row;
    });
    return { embeds: rows, mask, padding };
  }

  /**
   * Runs the LLM over a batch of prompts and returns every needed hidden state as rows of one
   * [R, d] tensor, with functions locating a row's last prefix token and its i-th token after the
   * prefix (item tokens, then suffix).
   *
   * With more than one prompt the shared prefix is run once (batch 1) and its keys/values are tiled
   * to the batch through a KV cache; the rest of each prompt is left-padded after it. Positions count
   * real tokens (the llama model's default with a mask), so every row computes what it would alone.
   * Gradients flow through the cached prefix (tfjs keeps its own copies of what backprop needs, so the
   * cache is freed right away).
   */
  private encode(sequences: readonly ArrayLike<number>[]): {
    flat: tf.Tensor2D;
    prefixLast: (b: number) => number;
    token: (b: number, i: number) => number;
  } {
    if (sequences.length === 0) throw new ShapeError('encode: empty batch');
    const P = this.prompt.prefix.length;
    const d = this.hidden;
    if (sequences.length === 1 || !this.sharePrefix) {
      const { embeds, mask, padding } = this.embedPrompts(sequences);
      const L = mask[0]!.length;
      try {
        const { lastHiddenState } = this.llm.forward({ inputsEmbeds: embeds, attentionMask: mask });
        return {
          flat: tf.tidy(() => tf.reshape(lastHiddenState, [-1, d]) as tf.Tensor2D),
          prefixLast: (b) => b * L + padding[b]! + P - 1,
          token: (b, i) => b * L + padding[b]! + P + i,
        };
      } finally {
        embeds.dispose();
      }
    }
    const B = sequences.length;
    const { rows, lens, padding } = this.assemblePrompts(sequences, false);
    const T = rows.shape[1];
    const flat = tf.tidy(() => {
      const cache = new KVCache(this.llm.config.num_hidden_layers);
      const batched = new KVCache(this.llm.config.num_hidden_layers);
      try {
        const pre = this.llm.forward({ inputIds: [[...this.prompt.prefix]], cache }).lastHiddenState;
        const preRows = tf.reshape(pre, [P, d]);
        if (T === 0) return preRows as tf.Tensor2D;
        for (let i = 0; i < cache.numLayers; i++) {
          const { key, value } = cache.layer(i)!;
          batched.update(i, tf.tile(key, [B, 1, 1, 1]), tf.tile(value, [B, 1, 1, 1]));
        }
        const mask = lens.map((n) => {
          const row = new Array<number>(P + T).fill(1);
          row.fill(0, P, P + T - n);
          return row;
        });
        const rest = this.llm.forward({
          inputsEmbeds: rows,
          attentionMask: mask,
          cache: batched,
        }).lastHiddenState;
        return tf.concat([preRows, tf.reshape(rest, [B * T, d])], 0) as tf.Tensor2D;
      } finally {
        cache.dispose();
        batched.dispose();
        rows.dispose();
      }
    });
    return { flat, prefixLast: () => P - 1, token: (b, i) => P + b * T + padding[b]! + i };
  }

  /**
   * The user representations u [B, d]: the last hidden state at the last position of each history's
   * prompt (the paper's one-prompt-per-history path).
   */
  userRepresentations(histories: readonly ArrayLike<number>[]): tf.Tensor2D {
    const S = this.prompt.suffix.length;
    return tf.tidy(() => {
      const { flat, prefixLast, token } = this.encode(histories);
      const k = this.tokens.tokensPerItem;
      const rows = histories.map((h, b) =>
        h.length * k + S > 0 ? token(b, h.length * k + S - 1) : prefixLast(b),
      );
      return tf.gather(flat, tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
    });
  }

  /**
   * The efficient path: one forward per sequence, reading the hidden state at the last token of each
   * requested prefix (the last prefix text token for t = 0, item t - 1 otherwise). Under causal
   * attention this equals {@link userRepresentations} of `items[0..t)`, provided the item tokens end
   * the prompt (`itemsAtEnd`). Returns [sum of requests, d] in request order.
   */
  prefixRepresentations(requests: readonly PrefixRequest[]): tf.Tensor2D {
    if (this.prompt.suffix.length > 0)
      throw new MmesidError(
        'prefixRepresentations: the prompt has a response header after the items, so the hidden state at an item is not a user representation; build the model with itemsAtEnd: true',
      );
    requests.forEach((r, b) => {
      for (const t of r.prefixLengths)
        if (!Number.isInteger(t) || t < 0 || t > r.items.length)
          throw new ShapeError(
            `prefixRepresentations: prefix length ${t} outside 0..${r.items.length} in request ${b}`,
          );
    });
    const k = this.tokens.tokensPerItem;
    return tf.tidy(() => {
      const { flat, prefixLast, token } = this.encode(requests.map((r) => r.items));
      const rows = requests.flatMap((r, b) =>
        r.prefixLengths.map((t) => (t === 0 ? prefixLast(b) : token(b, t * k - 1))),
      );
      return tf.gather(flat, tf.tensor1d(rows, 'int32')) as tf.Tensor2D;
    });
  }

  /** Scores of all items 0..N for user representations u [B, d]: [B, N + 1]. */
  scoreRepresentations(u: tf.Tensor2D): tf.Tensor2D {
    return this.head.forward(u, this.tokens);
  }

  /** Scores of all items 0..N for each history: [B, N + 1]. */
  score(histories: readonly ArrayLike<number>[]): tf.Tensor2D {
    return tf.tidy(() => this.scoreRepresentations(this.userRepresentations(histories)));
  }

  /** Each item's fusion weights over {@link termNames}: [N + 1, terms]; rows sum to 1. */
  fusionWeights(): tf.Tensor2D {
    return this.head.weights();
  }

  /**
   * The training loss for score rows `scores` [n, N + 1] and their targets: softmax cross-entropy over
   * all items (`loss.kind 'ce'`), or BCE of the target against `negatives` [n][k] (`'bce'`). Plus the
   * alignment loss over `items` when its weight is positive.
   *
   * @see MME-SID fine-tuning loss (next-item prediction over all items, scored by the fused head)
   */
  lossFromScores(
    scores: tf.Tensor2D,
    targets: readonly number[],
    negatives?: readonly ArrayLike<number>[],
    items?: ArrayLike<number>,
  ): tf.Scalar {
    const n = targets.length;
    const cols = this.numItems + 1;
    if (scores.shape[0] !== n)
      throw new ShapeError(`lossFromScores: ${scores.shape[0]} score rows for ${n} targets`);
    this.checkItems(targets, 'targets');
    return tf.tidy(() => {
      let loss: tf.Tensor;
      if (this.config.loss.kind === 'ce') {
        // log-sum-exp (shifted by the row maximum) minus the target's score; one kernel each way where the backend has it.
        loss = tf.mean(softmaxCrossEntropy(scores, targets));
      } else {
        const flat = tf.reshape(scores, [-1]);
        const pos = tf.gather(
          flat,
          tf.tensor1d(
            targets.map((t, b) => b * cols + t),
            'int32',
          ),
        );
        if (!negatives || negatives.length !== n)
          throw new ShapeError('lossFromScores: BCE needs one list of negatives per target');
        const idx: number[] = [];
        negatives.forEach((neg, b) => {
          for (let k = 0; k < neg.length; k++) idx.push(b * cols + neg[k]!);
        });
        const neg = tf.gather(flat, tf.tensor1d(idx, 'int32'));
        loss = tf.div(tf.add(tf.sum(tf.softplus(tf.neg(pos))), tf.sum(tf.softplus(neg))), n);
      }
      const a = this.config.alignment;
      if (a.weight > 0 && items && items.length > 1)
        loss = tf.add(loss, tf.mul(this.alignmentLoss(items), a.weight));
      return loss as tf.Scalar;
    });
  }

  /**
   * The CTRL-MM alignment: InfoNCE (`infoNce` of @mmesid/rqvae: cosine similarity / temperature,
   * in-batch negatives, both directions) between the projected collaborative embedding and each
   * other modality's projected embedding of the batch's distinct items, averaged over modalities.
   */
  alignmentLoss(items: ArrayLike<number>): tf.Scalar {
    const unique = [...new Set(Array.from(items))];
    const others = this.config.modalities.filter((m) => m !== 'collaborative');
    return tf.tidy(() => {
      const ids = tf.tensor1d(unique, 'int32');
      const embed = (m: string) =>
        this.tokens.projection(m)!.forward(tf.gather(this.tokens.table(m), ids)) as tf.Tensor2D;
      const anchor = embed('collaborative');
      const t = this.config.alignment.temperature;
      return tf.div(tf.addN(others.map((m) => infoNce(anchor, embed(m), t))), others.length) as tf.Scalar;
    });
  }

  /** Frees every parameter, buffer and cache of the model (LLM included). */
  override dispose(): void {
    this.tokens.releaseCaches();
    super.dispose();
  }

  /** Trainable-parameter counts (PEFT's summary line plus a split by group). */
  parameterSummary(): ParameterSummary {
    const s = trainableSummary(this);
    const count = (prefix: string) => {
      let n = 0;
      for (const [name, p] of this.namedParameters()) if (p.trainable && name.startsWith(prefix)) n += p.size;
      return n;
    };
    return {
      ...s,
      groups: { lora: count('llm.'), itemTokenizer: count('item_tokenizer.'), head: count('head.') },
    };
  }
}
