/** An 8-bit RGB image, rows top to bottom, pixels interleaved: `data[(y * width + x) * 3 + c]`. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Drops the alpha channel of RGBA pixels, as PIL's `convert('RGB')` does (no compositing onto white):
 * what `CLIPImageProcessor`'s `do_convert_rgb` gives for RGBA PNGs.
 */
export function rgbaToRgb(width: number, height: number, rgba: ArrayLike<number>): RgbImage {
  const n = width * height;
  if (rgba.length !== n * 4)
    throw new RangeError(`rgbaToRgb: expected ${n * 4} values for ${width}x${height}, got ${rgba.length}`);
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = rgba[i * 4]!;
    data[i * 3 + 1] = rgba[i * 4 + 1]!;
    data[i * 3 + 2] = rgba[i * 4 + 2]!;
  }
  return { width, height, data };
}
