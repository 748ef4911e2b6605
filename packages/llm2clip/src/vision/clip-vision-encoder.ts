import { nodeBuiltins } from '@mmesid/core';
import { tf } from '@mmesid/tensor';
import { ImageLoadError, NODE_ONLY } from '../errors.js';
import {
  type ClipImageProcessorConfig,
  clipImageProcessorConfig,
  clipImageProcessorConfigFromHf,
  preprocessClipImage,
} from '../image/clip-image-processor.js';
import { type LoadImageOptions, loadImage } from '../image/load-image.js';
import {
  type BatchEncoding,
  type EncoderInput,
  inputId,
  inputImage,
  type MissingInput,
  type ModalityEncoder,
  strictVectors,
} from '../modality-encoder.js';
import { CLIP_VISION_NAMES } from '../weights/clip-vision-names.js';
import { loadWeights } from '../weights/load-weights.js';
import { clipVisionConfigFromHf } from './clip-vision-config.js';
import { ClipVisionModelWithProjection } from './clip-vision-model.js';

/** Options of {@link ClipVisionEncoder}. */
export interface ClipVisionEncoderOptions {
  /** Preprocessing; default: the processor matching the model's image size (shortest edge = crop = imageSize). */
  processor?: Partial<ClipImageProcessorConfig>;
  /**
   * Maps an item's image source to where to read it, e.g. a URL to a local copy:
   * `(src) => join('/data/beauty-images', basename(new URL(src).pathname))`.
   */
  resolveImage?: (source: string) => string;
  /** Images loaded in parallel (default 4). */
  concurrency?: number;
  /** Download options for URLs (timeout, custom fetch). */
  load?: LoadImageOptions;
  /** Label of the weights in the name (default `random-init` or the checkpoint folder name). */
  modelName?: string;
  /** Dispose the model with the encoder (default true for `fromPretrained`). */
  ownsModel?: boolean;
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Image embeddings from a CLIP ViT (LLM2CLIP-Openai-L-14-336 at paper scale: ViT-L/14, 336 px, 1280-d
 * projection): load each item's image (local path or URL), CLIP preprocessing (`preprocessClipImage`),
 * vision tower, class token, post-LayerNorm, visual projection. Vectors are not normalised (as
 * `get_image_features`).
 *
 * An image that cannot be loaded (missing file, no network, HTTP error, unsupported format) is reported
 * per item in `encodeBatch().missing` (and makes `encode` throw `MissingInputError`): never replaced by
 * a made-up image or vector.
 *
 * @see MME-SID Sec. 3.1 (visual embeddings from LLM2CLIP)
 * @example
 * const enc = await ClipVisionEncoder.fromPretrained('/models/LLM2CLIP-Openai-L-14-336', {
 *   resolveImage: (url) => `/data/beauty-images/${url.split('/').pop()}`,
 * });
 * const { table, missing } = await encodeItems(items, enc, { cacheFile: 'cache/beauty.image.safetensors' });
 */
export class ClipVisionEncoder implements ModalityEncoder {
  readonly modality = 'image' as const;
  readonly dim: number;
  readonly name: string;
  readonly processor: ClipImageProcessorConfig;
  private readonly ownsModel: boolean;

  constructor(
    readonly model: ClipVisionModelWithProjection,
    readonly options: ClipVisionEncoderOptions = {},
  ) {
    const s = model.config.imageSize;
    this.processor = clipImageProcessorConfig({ shortestEdge: s, cropSize: s, ...options.processor });
    if (this.processor.cropSize !== s)
      throw new RangeError(
        `ClipVisionEncoder: processor crops to ${this.processor.cropSize} px but the model takes ${s} px`,
      );
    this.dim = model.config.projectionDim;
    this.ownsModel = options.ownsModel ?? false;
    const c = model.config;
    this.name = `clip-vision(${options.modelName ?? 'random-init'},${c.imageSize}px/p${c.patchSize},h${c.hiddenSize}x${c.numHiddenLayers},proj=${c.projectionDim})`;
  }

  /**
   * Loads a Hugging Face CLIP / LLM2CLIP checkpoint directory: `config.json` (a `CLIPConfig`,
   * LLM2CLIP config or `CLIPVisionConfig`), optional `preprocessor_config.json`, and the safetensors
   * weights through `CLIP_VISION_NAMES` (unknown tensor names fail the load). Node only.
   */
  static async fromPretrained(
    dir: string,
    options: ClipVisionEncoderOptions = {},
  ): Promise<ClipVisionEncoder> {
    const { fsp: fs, path } = await nodeBuiltins(NODE_ONLY);
    const readJson = async (f: string, required: boolean) => {
      try {
        return JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as Record<string, unknown>;
      } catch (e) {
        if (!required && (e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
    };
    const config = clipVisionConfigFromHf((await readJson('config.json', true))!);
    const pre = await readJson('preprocessor_config.json', false);
    const model = new ClipVisionModelWithProjection(config, { skipInit: true });
    try {
      await loadWeights(model, dir, CLIP_VISION_NAMES);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return new ClipVisionEncoder(model, {
      modelName: path.basename(path.resolve(dir)),
      ownsModel: true,
      ...options,
      ...(pre ? { processor: { ...clipImageProcessorConfigFromHf(pre), ...options.processor } } : {}),
    });
  }

  /** Pixel values [3, S, S] for one image source (loaded, decoded, preprocessed). */
  async pixels(source: string): Promise<Float32Array> {
    const where = this.options.resolveImage ? this.options.resolveImage(source) : source;
    return preprocessClipImage(await loadImage(where, this.options.load), this.processor);
  }

  /** Embeds already preprocessed pixel values ([n, 3, S, S] row-major) -> n x dim. */
  async embedPixels(pixels: Float32Array, n: number): Promise<Float32Array> {
    const s = this.model.config.imageSize;
    const y = tf.tidy(() =>
      this.model.forward(tf.tensor4d(pixels, [n, this.model.config.numChannels, s, s])),
    );
    const out = (await y.data()) as Float32Array;
    y.dispose();
    return out;
  }

  async encodeBatch(batch: readonly EncoderInput[]): Promise<BatchEncoding> {
    const missing: MissingInput[] = [];
    const loaded = await mapLimit(batch, this.options.concurrency ?? 4, async (input, i) => {
      const src = inputImage(input);
      const id = inputId(input);
      const fail = (reason: string) => {
        missing.push({ index: i, ...(id !== undefined ? { id } : {}), reason });
        return null;
      };
      if (src === undefined || src.trim() === '') return fail('no image');
      try {
        return await this.pixels(src);
      } catch (e) {
        if (e instanceof ImageLoadError) return fail(e.message);
        throw e;
      }
    });
    missing.sort((a, b) => a.index - b.index);
    const ok = loaded.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
    const vectors = new Float32Array(batch.length * this.dim);
    if (ok.length) {
      const per = loaded[ok[0]!]!.length;
      const stacked = new Float32Array(ok.length * per);
      for (const [k, i] of ok.entries()) stacked.set(loaded[i]!, k * per);
      const out = await this.embedPixels(stacked, ok.length);
      for (const [k, i] of ok.entries())
        vectors.set(out.subarray(k * this.dim, (k + 1) * this.dim), i * this.dim);
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
