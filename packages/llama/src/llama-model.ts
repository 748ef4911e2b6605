import {
  callChild,
  Embedding,
  type LinearOptions,
  MmesidError,
  Module,
  ModuleList,
  RMSNorm,
  type Rng,
  ShapeError,
  tf,
} from '@mmesid/tensor';
import type { LlamaConfig } from './config.js';
import { LlamaDecoderLayer } from './decoder-layer.js';
import { KVCache } from './kv-cache.js';
import { attentionBias, defaultPositions, type IntMatrix, toTensor2d } from './masks.js';
import { computeInvFreq, RopeTable, ropeCosSin } from './rope.js';

/** How to fill the weights of a new model: seeded random init, or zeros to be overwritten by a checkpoint. */
export interface LlamaInitOptions {
  /** Seeded source for a random init (embeddings N(0, 0.02²), projections PyTorch's Linear default). */
  rng?: Rng;
  /** Start from zeros because weights will be loaded (what the loaders use). */
  skipInit?: boolean;
  /**
   * Default for `forward({ causal })`: false builds a bidirectional encoder (LLM2Vec / LLM2CLIP's text
   * tower). Default true.
   */
  causal?: boolean;
}

/** Inputs of {@link LlamaModel.forward}. Exactly one of `inputIds` and `inputsEmbeds`. */
export interface LlamaForwardOptions {
  /** Token ids, int32 [B, T] (or nested arrays). */
  inputIds?: IntMatrix;
  /** Input embeddings [B, T, hidden] instead of ids, e.g. text-token embeddings mixed with item tokens. */
  inputsEmbeds?: tf.Tensor;
  /** [B, S] with 1 for real tokens and 0 for padding; S = cached length + T. Left padding is expected. */
  attentionMask?: IntMatrix;
  /**
   * Positions of the new tokens [B, T]. Default: cached length + 0, 1, ... without a mask; with a mask,
   * each row counts from its first real token (`cumsum(mask) - 1`, as Hugging Face's `generate`), so
   * a left-padded row sees the positions its unpadded self would. (Hugging Face's plain forward without
   * `position_ids` counts 0, 1, ... over the padding too; pass positions explicitly to match that.)
   */
  positions?: IntMatrix;
  /** Append to this cache (and attend to what it holds). */
  cache?: KVCache;
  /** Start a new cache when none is given; it is returned as `cache`. */
  useCache?: boolean;
  /** Also return the hidden state entering each layer plus the final normed output. */
  outputHiddenStates?: boolean;
  /** Causal (default: the model's `causal`) or bidirectional attention. */
  causal?: boolean;
}

/** Outputs of {@link LlamaModel.forward}; every tensor belongs to the caller. */
export interface LlamaModelOutput {
  /** Output of the final RMSNorm, [B, T, hidden]. */
  lastHiddenState: tf.Tensor;
  /**
   * With `outputHiddenStates`: num_hidden_layers + 1 tensors, as in Hugging Face: the embeddings, the
   * output of layers 0..L-2, and the final normed output (the same values as `lastHiddenState`).
   */
  hiddenStates?: tf.Tensor[];
  /** The cache that was passed in (now longer) or created by `useCache`. */
  cache?: KVCache;
}

/**
 * The Llama decoder stack without a head (Hugging Face `LlamaModel`): `embed_tokens`, `layers.N`,
 * `norm`. Module paths follow the checkpoint names, so `model.getModule('layers.0.mlp.gate_proj')` is
 * the `Linear` whose weight is `layers.0.mlp.gate_proj.weight`, and replacing it with
 * `replaceModule(path, wrapper)` changes what the forward pass calls (every submodule is looked up
 * by name at call time).
 *
 * @example
 * const model = new LlamaModel(cfg, { rng: new Rng(0) });
 * const { lastHiddenState } = model.forward({ inputIds: [[1, 2, 3]] });
 * lastHiddenState.dispose();
 */
export class LlamaModel extends Module {
  readonly invFreq: Float32Array;
  readonly causal: boolean;
  private readonly ropeTable: RopeTable;

  constructor(
    readonly config: LlamaConfig,
    init: LlamaInitOptions = {},
  ) {
    super();
    const lin: LinearOptions = init.skipInit ? { skipInit: true } : init.rng ? { rng: init.rng } : {};
    const embedInit = init.skipInit ? { skipInit: true } : init.rng ? { rng: init.rng, std: 0.02 } : {};
    this.setModule('embed_tokens', new Embedding(config.vocab_size, config.hidden_size, embedInit));
    const layers = new ModuleList<LlamaDecoderLayer>();
    for (let i = 0; i < config.num_hidden_layers; i++) layers.push(new LlamaDecoderLayer(config, lin));
    this.setModule('layers', layers);
    this.setModule('norm', new RMSNorm(config.hidden_size, config.rms_norm_eps));
    this.invFreq = computeInvFreq(config);
    this.ropeTable = new RopeTable(this.invFreq);
    this.causal = init.causal ?? true;
  }

  /** The token embedding table [vocab, hidden] (the live variable; do not dispose). */
  get embedWeight(): tf.Variable {
    const e = this.childModule('embed_tokens') as Embedding | undefined;
    if (!e?.weight) throw new MmesidError('LlamaModel: embed_tokens has no weight');
    return e.weight;
  }

  /**
   * Embeds token ids: [B, T] -> [B, T, hidden]. Use it to build `inputsEmbeds` that mix text tokens
   * with other vectors (MME-SID's item tokens). The caller owns the result.
   */
  embedTokens(ids: IntMatrix): tf.Tensor {
    if (Array.isArray(ids)) {
      const V = this.config.vocab_size;
      for (const row of ids)
        for (const id of row)
          if (!Number.isInteger(id) || id < 0 || id >= V)
            throw new ShapeError(`LlamaModel: token id ${id} is outside the vocabulary [0, ${V})`);
    }
    return tf.tidy(() => callChild(this, 'embed_tokens', toTensor2d(ids, 'int32', 'embedTokens ids')));
  }

  /** Runs the decoder stack. Differentiable (no data leaves the device). */
  forward(opts: LlamaForwardOptions): LlamaModelOutput {
    if ((opts.inputIds === undefined) === (opts.inputsEmbeds === undefined))
      throw new MmesidError('LlamaModel.forward: pass exactly one of inputIds and inputsEmbeds');
    let cache = opts.cache;
    if (!cache && opts.useCache) cache = new KVCache(this.config.num_hidden_layers);
    const out = tf.tidy(() => {
      const x0 = opts.inputsEmbeds ?? this.embedTokens(opts.inputIds!);
      if (x0.rank !== 3 || x0.shape[2] !== this.config.hidden_size)
        throw new ShapeError(
          `LlamaModel.forward: inputsEmbeds must be [B, T, ${this.config.hidden_size}], got [${x0.shape}]`,
        );
      const [B, T] = x0.shape as [number, number, number];
      const past = cache?.length ?? 0;
      if (cache && cache.length > 0 && cache.batchSize !== B)
        throw new ShapeError(
          `LlamaModel.forward: batch ${B} does not match the cache's batch ${cache.batchSize}`,
        );
      const mask =
        opts.attentionMask === undefined ? null : toTensor2d(opts.attentionMask, 'float32', 'attentionMask');
      if (mask && (mask.shape[0] !== B || mask.shape[1] !== past + T))
        throw new ShapeError(
          `LlamaModel.forward: attentionMask must be [${B}, ${past + T}] (cached ${past} + new ${T}), got [${mask.shape}]`,
        );
      const positions =
        opts.positions === undefined
          ? defaultPositions(B, past, T, mask)
          : toTensor2d(opts.positions, 'int32', 'positions');
      if (positions.shape[0] !== B || positions.shape[1] !== T)
        throw new ShapeError(`LlamaModel.forward: positions must be [${B}, ${T}], got [${positions.shape}]`);
      // Derived positions are < past + T and host arrays can be inspected, so both read the exact
      // host-computed table; only a positions tensor from the caller falls back to on-device sin/cos.
      let limit: number | null = opts.positions === undefined ? past + T : null;
      if (Array.isArray(opts.positions)) {
        const flat = opts.positions.flat();
        if (flat.some((p) => !(p >= 0))) throw new ShapeError('LlamaModel.forward: positions must be >= 0');
        limit = 1 + flat.reduce((a, b) => Math.max(a, b), 0);
      }
      const { cos, sin } =
        limit === null
          ? ropeCosSin(positions, tf.tensor1d(this.invFreq))
          : this.ropeTable.gather(positions, limit);
      const bias = attentionBias({ batch: B, past, length: T, mask, causal: opts.causal ?? this.causal });
      const layers = this.childModule('layers') as ModuleList<LlamaDecoderLayer>;
      const hidden: tf.Tensor[] = [];
      let h = x0;
      for (let i = 0; i < layers.length; i++) {
        if (opts.outputHiddenStates) hidden.push(i === 0 && opts.inputsEmbeds ? tf.clone(h) : h);
        h = layers.at(i).forward(h, { cos, sin, bias, layerIndex: i, ...(cache ? { cache } : {}) });
      }
      const last = callChild(this, 'norm', h);
      if (opts.outputHiddenStates) hidden.push(last);
      return { last, hidden };
    });
    // The last entry of `hidden` is `last` itself: hand the caller two independent tensors.
    const result: LlamaModelOutput = { lastHiddenState: out.last };
    if (opts.outputHiddenStates) {
      out.hidden[out.hidden.length - 1] = tf.clone(out.last);
      result.hiddenStates = out.hidden;
    }
    if (cache) result.cache = cache;
    return result;
  }
}
