import { nodeBuiltins } from '@mmesid/core';
import { type LlamaModel, loadLlamaModel } from '@mmesid/llama';
import { tf } from '@mmesid/tensor';
import { NODE_ONLY } from '../errors.js';
import {
  type BatchEncoding,
  type EncoderInput,
  type StagedEncoder,
  strictVectors,
} from '../modality-encoder.js';
import { loadWeights } from '../weights/load-weights.js';
import { LLM2CLIP_ADAPTER_NAMES } from '../weights/text-adapter-names.js';
import {
  LlamaMeanPoolTextEncoder,
  loadTokenizer,
  type TextTokenizer,
} from './llama-mean-pool-text-encoder.js';
import { Llm2ClipTextAdapter } from './text-adapter.js';
import type { TextAdapterConfig } from './text-adapter-config.js';

/** Options of {@link Llm2VecTextEncoder}. */
export interface Llm2VecTextEncoderOptions {
  /** Keep at most this many tokens (LLM2Vec's `max_length`, 512). */
  maxLength?: number;
  /** `none` (default; what MME-SID's authors ran) or `llama3-user` (LLM2Vec's Llama 3 instruct wrapping). */
  chatTemplate?: 'none' | 'llama3-user';
  /** Pad id for left padding (masked; default 0). */
  padId?: number;
  /** Label of the LLM in the name (default: the folder name). */
  modelName?: string;
  /** Label of the adapter weights in the name (default: the adapter file name). */
  adapterName?: string;
  /** Dispose the LLM and adapter with the encoder (default true for `fromPretrained`). */
  ownsModules?: boolean;
}

/**
 * The LLM2CLIP text encoder, as MME-SID used it for item titles:
 *
 * 1. LLM2Vec backbone: the fine-tuned Llama (LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned) with
 *    bidirectional attention, title tokens left-padded, last hidden states mean-pooled over real tokens
 *    (d = 4096). No chat template by default.
 * 2. LLM2CLIP text adapter (`Llm2ClipTextAdapter`): L2-normalise, 4 residual MLP blocks, LayerNorm,
 *    Linear 4096 -> 1280: the vector lands in the space of `ClipVisionEncoder`'s image vectors.
 *
 * It is a `StagedEncoder`: `encodeItems` caches the 4096-d backbone vectors (the expensive part, ~16
 * GFLOP per 20-token title) separately from the 1280-d output, so a corrected adapter re-runs in seconds.
 *
 * @see MME-SID Sec. 3.1 (textual embeddings from LLM2CLIP); LLM2Vec; LLM2CLIP
 * @example
 * const enc = await Llm2VecTextEncoder.fromPretrained('/models/LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned',
 *   '/models/LLM2CLIP-Openai-L-14-336');
 * await encodeItems(items, enc, { cacheFile: 'cache/beauty.llm2clip-text.safetensors', batchSize: 8 });
 */
export class Llm2VecTextEncoder implements StagedEncoder {
  readonly modality = 'text' as const;
  readonly dim: number;
  readonly name: string;
  readonly backbone: LlamaMeanPoolTextEncoder;
  private readonly ownsModules: boolean;

  constructor(
    model: LlamaModel,
    tokenizer: TextTokenizer,
    readonly adapter: Llm2ClipTextAdapter,
    options: Llm2VecTextEncoderOptions = {},
  ) {
    this.backbone = new LlamaMeanPoolTextEncoder(model, tokenizer, {
      causal: false,
      ...(options.maxLength !== undefined ? { maxLength: options.maxLength } : {}),
      ...(options.chatTemplate !== undefined ? { chatTemplate: options.chatTemplate } : {}),
      ...(options.padId !== undefined ? { padId: options.padId } : {}),
      ...(options.modelName !== undefined ? { modelName: options.modelName } : {}),
      ownsModel: options.ownsModules ?? false,
    });
    if (adapter.config.inputDim !== this.backbone.dim)
      throw new RangeError(
        `Llm2VecTextEncoder: the adapter takes ${adapter.config.inputDim}-d vectors but the LLM's hidden size is ${this.backbone.dim}`,
      );
    this.dim = adapter.config.projectionDim;
    this.ownsModules = options.ownsModules ?? false;
    this.name = `llm2clip-text(${this.backbone.name},adapter=${options.adapterName ?? `${adapter.config.numBlocks}x${adapter.config.inputDim}->${this.dim}`})`;
  }

  /**
   * Loads the LLM2Vec Llama (a directory with config.json, safetensors and tokenizer.json: the bare
   * `LlamaModel` or a causal-LM checkpoint) and the adapter from `adapterPath` (the LLM2CLIP checkpoint
   * directory or file; names through `LLM2CLIP_ADAPTER_NAMES`, which fails loudly on unknown names).
   * Node only; needs ~32 GB for the 8B model in float32.
   */
  static async fromPretrained(
    llmDir: string,
    adapterPath: string,
    options: Llm2VecTextEncoderOptions & { adapterConfig?: Partial<TextAdapterConfig> } = {},
  ): Promise<Llm2VecTextEncoder> {
    const { path } = await nodeBuiltins(NODE_ONLY);
    const tokenizer = await loadTokenizer(llmDir);
    const model = await loadLlamaModel(llmDir, { log: false, causal: false });
    const adapter = new Llm2ClipTextAdapter(
      { ...options.adapterConfig, inputDim: model.config.hidden_size },
      { skipInit: true },
    );
    try {
      await loadWeights(adapter, adapterPath, LLM2CLIP_ADAPTER_NAMES);
    } catch (e) {
      model.dispose();
      adapter.dispose();
      throw e;
    }
    return new Llm2VecTextEncoder(model, tokenizer, adapter, {
      modelName: path.basename(path.resolve(llmDir)),
      adapterName: path.basename(path.resolve(adapterPath)),
      ownsModules: true,
      ...options,
    });
  }

  /** Adapter on n backbone vectors (n x backbone.dim) -> n x dim. */
  async head(pre: Float32Array, n: number): Promise<Float32Array> {
    if (n === 0) return new Float32Array(0);
    const y = tf.tidy(() => this.adapter.forward(tf.tensor2d(pre, [n, this.backbone.dim])));
    const out = (await y.data()) as Float32Array;
    y.dispose();
    return out;
  }

  async encodeBatch(batch: readonly EncoderInput[]): Promise<BatchEncoding> {
    const pre = await this.backbone.encodeBatch(batch);
    const bad = new Set(pre.missing.map((m) => m.index));
    const keep = batch.map((_, i) => i).filter((i) => !bad.has(i));
    const d = this.backbone.dim;
    const packed = new Float32Array(keep.length * d);
    for (const [k, i] of keep.entries()) packed.set(pre.vectors.subarray(i * d, (i + 1) * d), k * d);
    const out = await this.head(packed, keep.length);
    const vectors = new Float32Array(batch.length * this.dim);
    for (const [k, i] of keep.entries())
      vectors.set(out.subarray(k * this.dim, (k + 1) * this.dim), i * this.dim);
    return { vectors, missing: pre.missing };
  }

  async encode(batch: readonly EncoderInput[]): Promise<Float32Array> {
    return strictVectors(this.name, await this.encodeBatch(batch));
  }

  dispose(): void {
    this.backbone.dispose();
    if (this.ownsModules) this.adapter.dispose();
  }
}
