import { MissingInputError } from './errors.js';
import type { Item } from './item.js';

/** Which side of the aligned space an encoder produces. */
export type Modality = 'text' | 'image';

/**
 * One input of an encoder batch: an {@link Item} (a text encoder reads `title`, an image encoder
 * `image`), or a bare string that is the modality's raw input (the text itself, or an image path/URL).
 */
export type EncoderInput = Item | string;

/** An input of a batch that could not be encoded, by its position in the batch. */
export interface MissingInput {
  readonly index: number;
  readonly id?: number;
  readonly reason: string;
}

/**
 * The result of encoding a batch without throwing for missing inputs: `vectors` is N x dim row-major;
 * the rows listed in `missing` are zero and must not be used as embeddings.
 */
export interface BatchEncoding {
  readonly vectors: Float32Array;
  readonly missing: readonly MissingInput[];
}

/**
 * Anything that turns items of one modality into fixed-size vectors: the LLM2CLIP text and vision
 * encoders of this package, the offline text encoders, or your own (SASRec tables, another CLIP).
 *
 * Contract:
 * - `encode(batch)` resolves to an N x `dim` row-major Float32Array, row i for `batch[i]`, and throws
 *   {@link MissingInputError} if any input cannot be encoded (never a made-up vector).
 * - Results depend only on each input, not on the rest of the batch (up to float rounding), so the
 *   batch size is a speed knob only.
 * - `encodeBatch`, when present, returns the same vectors plus the inputs that could not be encoded
 *   instead of throwing; `encodeItems` uses it to record missing items per id.
 * - `dispose()` frees model weights; the encoder is unusable afterwards.
 * - `name` identifies the model and its settings; an embedding cache written under one name is
 *   never reused under another.
 *
 * @example
 * const enc: ModalityEncoder = await TfidfSvdTextEncoder.fit(titles, { dim: 64, seed: 0 });
 * const v = await enc.encode(['OPI Nail Lacquer', { id: 2, title: 'Shatter polish' }]); // 2 x 64
 */
export interface ModalityEncoder {
  readonly name: string;
  readonly dim: number;
  readonly modality: Modality;
  encode(batch: readonly EncoderInput[]): Promise<Float32Array>;
  encodeBatch?(batch: readonly EncoderInput[]): Promise<BatchEncoding>;
  dispose(): void;
}

/**
 * An encoder made of an expensive backbone and a cheap head (the LLM2CLIP text side: an 8B LLM2Vec
 * backbone, then a small adapter). `encodeItems` caches the backbone's vectors in their own file, so
 * a changed or fixed head never re-runs the backbone.
 */
export interface StagedEncoder extends ModalityEncoder {
  /** Produces the intermediate vectors (`backbone.dim` wide). */
  readonly backbone: ModalityEncoder;
  /** Maps `n` backbone vectors (n x backbone.dim) to n x dim. */
  head(pre: Float32Array, n: number): Promise<Float32Array>;
}

/** True if `e` has a backbone/head split that `encodeItems` can cache in two stages. */
export function isStagedEncoder(e: ModalityEncoder): e is StagedEncoder {
  const s = e as Partial<StagedEncoder>;
  return typeof s.head === 'function' && typeof s.backbone === 'object' && s.backbone !== null;
}

/** The text an input stands for, or undefined when it has none. */
export function inputText(input: EncoderInput): string | undefined {
  return typeof input === 'string' ? input : input.title;
}

/** The image source (path or URL) an input stands for, or undefined when it has none. */
export function inputImage(input: EncoderInput): string | undefined {
  return typeof input === 'string' ? input : input.image;
}

/** The item id of an input, when it is an item. */
export function inputId(input: EncoderInput): number | undefined {
  return typeof input === 'string' ? undefined : input.id;
}

/**
 * Calls `encoder.encodeBatch` when it exists, else `encode` (an encoder without `encodeBatch` either
 * encodes everything or throws, which is then propagated).
 */
export async function encodeBatchOf(
  encoder: ModalityEncoder,
  batch: readonly EncoderInput[],
): Promise<BatchEncoding> {
  if (encoder.encodeBatch) return encoder.encodeBatch(batch);
  return { vectors: await encoder.encode(batch), missing: [] };
}

/** Turns a {@link BatchEncoding} into `encode`'s contract: the vectors, or a MissingInputError. */
export function strictVectors(name: string, enc: BatchEncoding): Float32Array {
  if (enc.missing.length) throw new MissingInputError(name, enc.missing);
  return enc.vectors;
}
