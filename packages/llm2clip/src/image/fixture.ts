// Test helper: the Pillow-made image fixture (see fixtures/make_image_fixtures.py).
import { readFileSync } from 'node:fs';
import type { RgbImage } from './rgb-image.js';

export interface ImageFixture {
  width: number;
  height: number;
  rgb: number[];
  png: string;
  png_decoded: number[];
  jpeg: string;
  jpeg_decoded: number[];
  gif: string;
  gif_decoded: number[];
  gray_png: string;
  gray_png_decoded: number[];
  resizes: { width: number; height: number; data: number[] }[];
  clip_preprocess: { shortest_edge: number; crop: number; wide: number[]; tall: number[] };
}

export const imageFixture = JSON.parse(
  readFileSync(new URL('./fixtures/images.json', import.meta.url), 'utf8'),
) as ImageFixture;

export const fixtureImage: RgbImage = {
  width: imageFixture.width,
  height: imageFixture.height,
  data: Uint8Array.from(imageFixture.rgb),
};

export function bytesOf(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}
