import { nodeBuiltins } from '@mmesid/core';
import { HfTokenizer, Llama2cTokenizer, type LlamaModel, loadLlamaModel } from '@mmesid/llama';
import { ConfigError, tf } from '@mmesid/tensor';
import { NODE_ONLY } from '../errors.js';
import {
  type BatchEncoding,
  type EncoderInput,
  inputId,
  inputText,
  type MissingInput,
  type ModalityEncoder,
  strictVectors,
} from '../modality-encoder.js';
import { llama3UserTemplate } from './llama3-user-template.js';
import { leftPad, maskedMeanPool } from './mean-pool.js';

/** Anything that turns text into token ids (special tokens included as the model expects). */
export interface TextTokenizer {
  encode(text: string): number[];
}

/** Options of {@link LlamaMeanPoolTextEncoder}. */
export interface LlamaMeanPoolOptions {
  /** Causal (what a plain LM was trained with; default) or bidirectional attention (LLM2Vec). */
  causal?: boolean;
  /** Keep at most this many tokens per text, the first ones (LLM2Vec: 512). Default 512. */
  maxLength?: number;
  /** Wrap each text in a chat turn before tokenising: `none` (default) or `llama3-user`. */
  chatTemplate?: 'none' | 'llama3-user';
  /** Id written in padded positions (masked out, so any valid id; default 0). */
  padId?: number;
  /** A label for the model in the encoder's name (e.g. the checkpoint folder name). */
  modelName?: string;
  /** Dispose the model with the encoder (default true for `fromPretrained`, false otherwise). */
  ownsModel?: boolean;
}

/**
 * Sentence vectors from any Llama: tokenise, left-pad, run the decoder stack, mean-pool the final
 * (normed) hidden states over real tokens. `dim` = hidden size.
 *
 * This is the offline text encoder for machines without the LLM2CLIP checkpoints (e.g. over
 * stories260k, 64-d). It is NOT LLM2CLIP: the vectors are not in CLIP's space; name it in any report
 * (its `name` says `llama-mean-pool(...)`). With `causal: false` and the LLM2Vec weights it is the
 * LLM2Vec backbone of `Llm2VecTextEncoder`.
 *
 * Padding invariance: left padding plus mask-derived positions (`@mmesid/llama`'s `defaultPositions`)
 * give a text the same vector whatever else is in the batch (up to float rounding; tested).
 *
 * @example
 * const enc = await LlamaMeanPoolTextEncoder.fromPretrained('/work/shared/models/stories260k');
 * const v = await enc.encode(['Lily went to the park.']); // Float32Array(64)
 * enc.dispose();
 */
export class LlamaMeanPoolTextEncoder implements ModalityEncoder {
  readonly modality = 'text' as const;
  readonly dim: number;
  readonly name: string;
  readonly causal: boolean;
  readonly maxLength: number;
  readonly chatTemplate: 'none' | 'llama3-user';
  private readonly padId: number;
  private readonly ownsModel: boolean;

  constructor(
    readonly model: LlamaModel,
    readonly tokenizer: TextTokenizer,
    options: LlamaMeanPoolOptions = {},
  ) {
    this.dim = model.config.hidden_size;
    this.causal = options.causal ?? true;
    this.maxLength = options.maxLength ?? 512;
    this.chatTemplate = options.chatTemplate ?? 'none';
    this.padId = options.padId ?? 0;
    this.ownsModel = options.ownsModel ?? false;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1)
      throw new ConfigError(
        `LlamaMeanPoolTextEncoder: maxLength must be a positive integer, got ${this.maxLength}`,
      );
    if (!Number.isInteger(this.padId) || this.padId < 0 || this.padId >= model.config.vocab_size)
      throw new ConfigError(
        `LlamaMeanPoolTextEncoder: padId ${this.padId} is outside the vocabulary (0..${model.config.vocab_size - 1})`,
      );
    const label = options.modelName ?? `llama-h${this.dim}-l${model.config.num_hidden_layers}`;
    this.name = `llama-mean-pool(${label},${this.causal ? 'causal' : 'bidirectional'},max=${this.maxLength},template=${this.chatTemplate})`;
  }

  /**
   * Loads a Hugging Face Llama directory (`config.json` + safetensors) and its tokenizer:
   * `tokenizer.json` (HF) if present, else `tokenizer.llama2c.json` / `tokenizer.bin` (llama2.c, BOS added).
   * Node only.
   */
  static async fromPretrained(
    dir: string,
    options: LlamaMeanPoolOptions = {},
  ): Promise<LlamaMeanPoolTextEncoder> {
    const tokenizer = await loadTokenizer(dir);
    const model = await loadLlamaModel(dir, { log: false, causal: options.causal ?? true });
    const { path } = await nodeBuiltins(NODE_ONLY);
    return new LlamaMeanPoolTextEncoder(model, tokenizer, {
      modelName: path.basename(path.resolve(dir)),
      ownsModel: true,
      ...options,
    });
  }

  /** Token ids of one text as this encoder feeds them (template, special tokens, truncation). */
  tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(this.chatTemplate === 'llama3-user' ? llama3UserTemplate(text) : text);
    return ids.length > this.maxLength ? ids.slice(0, this.maxLength) : ids;
  }

  async encodeBatch(batch: readonly EncoderInput[]): Promise<BatchEncoding> {
    const missing: MissingInput[] = [];
    const seqs: number[][] = [];
    const rows: number[] = [];
    batch.forEach((input, i) => {
      const text = inputText(input);
      const id = inputId(input);
      if (text === undefined || text.trim() === '') {
        missing.push({ index: i, ...(id !== undefined ? { id } : {}), reason: 'empty text' });
        return;
      }
      seqs.push(this.tokenize(text));
      rows.push(i);
    });
    const vectors = new Float32Array(batch.length * this.dim);
    if (seqs.length) {
      const { ids, mask } = leftPad(seqs, this.padId);
      const pooled = tf.tidy(() => {
        const { lastHiddenState } = this.model.forward({
          inputIds: ids,
          attentionMask: mask,
          causal: this.causal,
        });
        return maskedMeanPool(lastHiddenState, tf.tensor2d(mask, [mask.length, mask[0]!.length], 'int32'));
      });
      const data = await pooled.data();
      pooled.dispose();
      for (const [k, r] of rows.entries())
        vectors.set(data.subarray(k * this.dim, (k + 1) * this.dim), r * this.dim);
    }
    return { vectors, missing };
  }

  async encode(batch: readonly EncoderInput[]): Promise<Float32Array> {
    return strictVectors(this.name, await this.encodeBatch(batch));
  }

  dispose(): void {
    if (this.ownsModel) this.model.dispose();
  }
}

/** The tokenizer of a model directory: HF `tokenizer.json`, else a llama2.c vocabulary (BOS prepended). */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const { fsp: fs, path } = await nodeBuiltins(NODE_ONLY);
  const has = async (f: string) =>
    fs
      .access(path.join(dir, f))
      .then(() => true)
      .catch(() => false);
  if (await has('tokenizer.json')) {
    const text = await fs.readFile(path.join(dir, 'tokenizer.json'), 'utf8');
    // A llama2.c vocabulary saved as tokenizer.json is not an HF tokenizer.
    if (!text.includes('"llama2c-tokenizer"')) return HfTokenizer.fromDir(dir);
    const tok = Llama2cTokenizer.fromJson(JSON.parse(text), path.join(dir, 'tokenizer.json'));
    return { encode: (t) => tok.encode(t, { bos: true }) };
  }
  for (const f of ['tokenizer.llama2c.json', 'tokenizer.bin', 'tok512.bin']) {
    if (await has(f)) {
      const tok = await Llama2cTokenizer.load(path.join(dir, f));
      return { encode: (t) => tok.encode(t, { bos: true }) };
    }
  }
  throw new ConfigError(
    `${dir}: no tokenizer.json, tokenizer.llama2c.json or tokenizer.bin to tokenise with`,
  );
}
