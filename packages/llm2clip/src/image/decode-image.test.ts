import { describe, expect, it } from 'vitest';
import { ImageLoadError } from '../errors.js';
import { decodeImage, sniffImageFormat } from './decode-image.js';
import { bytesOf, imageFixture } from './fixture.js';

describe('decodeImage (Node: mozjpeg wasm, pngjs, omggif)', () => {
  it('decodes PNG exactly as Pillow', async () => {
    const img = await decodeImage(bytesOf(imageFixture.png), 'fixture.png');
    expect([img.width, img.height]).toEqual([imageFixture.width, imageFixture.height]);
    expect([...img.data]).toEqual(imageFixture.png_decoded);
  });

  it('decodes a grayscale PNG to RGB as Pillow convert("RGB")', async () => {
    const img = await decodeImage(bytesOf(imageFixture.gray_png));
    expect([...img.data]).toEqual(imageFixture.gray_png_decoded);
  });

  it('decodes GIF (palette) exactly as Pillow', async () => {
    const img = await decodeImage(bytesOf(imageFixture.gif));
    expect([...img.data]).toEqual(imageFixture.gif_decoded);
  });

  it('decodes JPEG (4:2:0, quality 90) exactly as Pillow/libjpeg-turbo', async () => {
    const img = await decodeImage(bytesOf(imageFixture.jpeg));
    expect([img.width, img.height]).toEqual([imageFixture.width, imageFixture.height]);
    expect([...img.data]).toEqual(imageFixture.jpeg_decoded);
  });

  it('sniffs formats and rejects what it cannot decode, naming the source', async () => {
    expect(sniffImageFormat(bytesOf(imageFixture.jpeg))).toBe('jpeg');
    expect(sniffImageFormat(bytesOf(imageFixture.png))).toBe('png');
    expect(sniffImageFormat(bytesOf(imageFixture.gif))).toBe('gif');
    expect(sniffImageFormat(new TextEncoder().encode('<html>'))).toBe('unknown');
    await expect(decodeImage(new TextEncoder().encode('<html>404</html>'), 'x.jpg')).rejects.toThrow(
      /x\.jpg: not an image/,
    );
    const truncated = bytesOf(imageFixture.png).subarray(0, 60);
    await expect(decodeImage(truncated, 'cut.png')).rejects.toBeInstanceOf(ImageLoadError);
  });
});
