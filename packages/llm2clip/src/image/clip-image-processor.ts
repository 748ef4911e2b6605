import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';
import { resizeBicubic } from './resize-bicubic.js';
import type { RgbImage } from './rgb-image.js';

/** `CLIPImageProcessor` settings (Hugging Face `preprocessor_config.json` meanings). */
export const ClipImageProcessorConfigSchema = z.object({
  /** Resize so that the shorter side is this long (`size.shortest_edge`). */
  shortestEdge: z.number().int().positive(),
  /** Centre crop to this square (`crop_size`). */
  cropSize: z.number().int().positive(),
  /** Multiply 0..255 values by this (`rescale_factor`, 1/255). */
  rescaleFactor: z.number().positive(),
  imageMean: z.tuple([z.number(), z.number(), z.number()]),
  imageStd: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
});

/** Validated preprocessing settings (see {@link ClipImageProcessorConfigSchema}). */
export type ClipImageProcessorConfig = z.infer<typeof ClipImageProcessorConfigSchema>;

/** OpenAI CLIP's per-channel (RGB) mean, used by every CLIP / LLM2CLIP processor. */
export const CLIP_IMAGE_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
/** OpenAI CLIP's per-channel (RGB) standard deviation. */
export const CLIP_IMAGE_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** The processor of CLIP ViT-L/14-336 (and LLM2CLIP-Openai-L-14-336): 336 px. */
export const CLIP_IMAGE_PROCESSOR_336: ClipImageProcessorConfig = Object.freeze({
  shortestEdge: 336,
  cropSize: 336,
  rescaleFactor: 1 / 255,
  imageMean: [...CLIP_IMAGE_MEAN] as [number, number, number],
  imageStd: [...CLIP_IMAGE_STD] as [number, number, number],
});

/**
 * Validates a (partial) processor config over {@link CLIP_IMAGE_PROCESSOR_336}.
 * @throws ConfigError naming the bad field
 */
export function clipImageProcessorConfig(
  partial: Partial<ClipImageProcessorConfig> = {},
): ClipImageProcessorConfig {
  const r = ClipImageProcessorConfigSchema.safeParse({ ...CLIP_IMAGE_PROCESSOR_336, ...partial });
  if (!r.success)
    throw new ConfigError(
      `CLIP image processor config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** Reads Hugging Face's `preprocessor_config.json` of a `CLIPImageProcessor`. */
export function clipImageProcessorConfigFromHf(json: Record<string, unknown>): ClipImageProcessorConfig {
  const size = json.size as { shortest_edge?: number } | number | undefined;
  const crop = json.crop_size as { height?: number; width?: number } | number | undefined;
  const out: Partial<ClipImageProcessorConfig> = {};
  if (typeof size === 'number') out.shortestEdge = size;
  else if (size?.shortest_edge !== undefined) out.shortestEdge = size.shortest_edge;
  if (typeof crop === 'number') out.cropSize = crop;
  else if (crop?.height !== undefined) {
    if (crop.width !== undefined && crop.width !== crop.height)
      throw new ConfigError(
        `CLIP image processor config: non-square crop_size ${crop.height}x${crop.width} is not supported`,
      );
    out.cropSize = crop.height;
  }
  if (typeof json.rescale_factor === 'number') out.rescaleFactor = json.rescale_factor;
  if (Array.isArray(json.image_mean)) out.imageMean = json.image_mean as [number, number, number];
  if (Array.isArray(json.image_std)) out.imageStd = json.image_std as [number, number, number];
  return clipImageProcessorConfig(out);
}

/**
 * The size (width, height) after resizing the shorter side to `edge`, as `transformers`'
 * `get_resize_output_image_size(default_to_square=False)`: the longer side is truncated, not rounded.
 */
export function shortestEdgeSize(
  width: number,
  height: number,
  edge: number,
): { width: number; height: number } {
  if (width <= height) return { width: edge, height: Math.trunc((edge * height) / width) };
  return { width: Math.trunc((edge * width) / height), height: edge };
}

/**
 * CLIP preprocessing, as `CLIPImageProcessor`: resize the shorter side to `shortestEdge` with
 * Pillow-exact bicubic (`resizeBicubic`), centre crop `cropSize` (offsets floor((size - crop) / 2),
 * padding with zeros if the image is smaller, as `transformers`' `center_crop`), rescale by 1/255,
 * normalise with the CLIP mean/std. Returns float32 [3, crop, crop] (CHW), ready to stack into
 * `pixel_values`.
 *
 * @see MME-SID Sec. 3.1 (images encoded by LLM2CLIP's vision tower)
 * @example
 * const chw = preprocessClipImage(await loadImage('item.jpg')); // Float32Array(3 * 336 * 336)
 */
export function preprocessClipImage(
  img: RgbImage,
  config: ClipImageProcessorConfig = CLIP_IMAGE_PROCESSOR_336,
): Float32Array {
  const { width, height } = shortestEdgeSize(img.width, img.height, config.shortestEdge);
  const resized = width === img.width && height === img.height ? img : resizeBicubic(img, width, height);
  const s = config.cropSize;
  const top = Math.floor((resized.height - s) / 2);
  const left = Math.floor((resized.width - s) / 2);
  const out = new Float32Array(3 * s * s);
  const plane = s * s;
  // float32 at each step, as transformers does with numpy float32 arrays.
  const f = Math.fround;
  const mean = config.imageMean.map(f);
  const std = config.imageStd.map(f);
  for (let y = 0; y < s; y++) {
    const sy = y + top;
    for (let x = 0; x < s; x++) {
      const sx = x + left;
      const inside = sy >= 0 && sy < resized.height && sx >= 0 && sx < resized.width;
      const p = (sy * resized.width + sx) * 3;
      for (let c = 0; c < 3; c++) {
        const v = inside ? resized.data[p + c]! : 0;
        out[c * plane + y * s + x] = f(f(f(v * config.rescaleFactor) - mean[c]!) / std[c]!);
      }
    }
  }
  return out;
}
