import { describe, expect, it } from 'vitest';
import {
  CLIP_IMAGE_PROCESSOR_336,
  clipImageProcessorConfig,
  clipImageProcessorConfigFromHf,
  preprocessClipImage,
  shortestEdgeSize,
} from './clip-image-processor.js';
import { fixtureImage, imageFixture } from './fixture.js';
import type { RgbImage } from './rgb-image.js';

function transpose(img: RgbImage): RgbImage {
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      for (let c = 0; c < 3; c++) data[(x * img.height + y) * 3 + c] = img.data[(y * img.width + x) * 3 + c]!;
  return { width: img.height, height: img.width, data };
}

describe('CLIP preprocessing', () => {
  const cfg = clipImageProcessorConfig({ shortestEdge: 20, cropSize: 16 });

  it('sizes the shorter side and truncates the longer, as transformers', () => {
    expect(shortestEdgeSize(41, 29, 20)).toEqual({ width: 28, height: 20 });
    expect(shortestEdgeSize(29, 41, 20)).toEqual({ width: 20, height: 28 });
    expect(shortestEdgeSize(500, 375, 336)).toEqual({ width: 448, height: 336 });
  });

  it('matches the reference (Pillow bicubic, floor centre crop, float32 rescale/normalise) within 1e-6', () => {
    for (const [img, ref] of [
      [fixtureImage, imageFixture.clip_preprocess.wide],
      [transpose(fixtureImage), imageFixture.clip_preprocess.tall],
    ] as const) {
      const out = preprocessClipImage(img, cfg);
      expect(out.length).toBe(3 * 16 * 16);
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i]! - ref[i]!));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it('pads with zeros (before normalising) when the image is smaller than the crop', () => {
    const tiny: RgbImage = { width: 2, height: 2, data: new Uint8Array(12).fill(255) };
    const out = preprocessClipImage(tiny, clipImageProcessorConfig({ shortestEdge: 2, cropSize: 4 }));
    const zero = -CLIP_IMAGE_PROCESSOR_336.imageMean[0] / CLIP_IMAGE_PROCESSOR_336.imageStd[0];
    expect(out[0]).toBeCloseTo(zero, 5);
    expect(out[5]).toBeCloseTo(
      (1 - CLIP_IMAGE_PROCESSOR_336.imageMean[0]) / CLIP_IMAGE_PROCESSOR_336.imageStd[0],
      5,
    );
  });

  it('reads preprocessor_config.json and validates', () => {
    const c = clipImageProcessorConfigFromHf({
      size: { shortest_edge: 224 },
      crop_size: { height: 224, width: 224 },
    });
    expect(c.shortestEdge).toBe(224);
    expect(c.cropSize).toBe(224);
    expect(c.imageMean).toEqual([0.48145466, 0.4578275, 0.40821073]);
    expect(() => clipImageProcessorConfigFromHf({ crop_size: { height: 224, width: 200 } })).toThrow(
      /non-square/,
    );
    expect(() => clipImageProcessorConfig({ cropSize: -1 })).toThrow(/cropSize/);
  });
});
