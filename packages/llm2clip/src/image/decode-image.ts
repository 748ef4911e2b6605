import { ImageLoadError } from '../errors.js';
import { type RgbImage, rgbaToRgb } from './rgb-image.js';

/** Image container formats recognised by their first bytes. */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'unknown';

/** The format of encoded image bytes, from their magic number. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 4 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  if (
    b.length >= 12 &&
    b[0] === 0x52 &&
    b[1] === 0x49 &&
    b[2] === 0x46 &&
    b[3] === 0x46 &&
    b[8] === 0x57 &&
    b[9] === 0x45
  )
    return 'webp';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  return 'unknown';
}

interface BrowserImageApi {
  createImageBitmap(blob: Blob): Promise<{ width: number; height: number; close(): void }>;
  OffscreenCanvas: new (
    w: number,
    h: number,
  ) => {
    getContext(kind: '2d'): {
      drawImage(img: unknown, x: number, y: number): void;
      getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
    } | null;
  };
}

function browserApi(): BrowserImageApi | undefined {
  const g = globalThis as unknown as Partial<BrowserImageApi>;
  return typeof g.createImageBitmap === 'function' && typeof g.OffscreenCanvas === 'function'
    ? (g as BrowserImageApi)
    : undefined;
}

const isNode =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** Browsers: the platform decoder (every format the browser knows), pixels read back through a canvas. */
async function decodeInBrowser(api: BrowserImageApi, bytes: Uint8Array, source: string): Promise<RgbImage> {
  const bmp = await api.createImageBitmap(new Blob([bytes as BlobPart]));
  try {
    const canvas = new api.OffscreenCanvas(bmp.width, bmp.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new ImageLoadError(source, 'OffscreenCanvas has no 2d context');
    ctx.drawImage(bmp, 0, 0);
    return rgbaToRgb(bmp.width, bmp.height, ctx.getImageData(0, 0, bmp.width, bmp.height).data);
  } finally {
    bmp.close();
  }
}

let mozjpeg:
  | Promise<(buf: ArrayBuffer) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>>
  | undefined;

/**
 * libjpeg-turbo's decoder (mozjpeg compiled to WebAssembly, shipped in the `@jsquash/jpeg` npm
 * package), initialised once from its .wasm file: the same IDCT and chroma upsampling as Pillow.
 */
function mozjpegDecoder() {
  mozjpeg ??= (async () => {
    const [{ readFile }, { createRequire }, mod] = await Promise.all([
      import('node:fs/promises'),
      import('node:module'),
      import('@jsquash/jpeg/decode.js'),
    ]);
    const wasm = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
    await mod.init((await WebAssembly.compile(await readFile(wasm))) as never);
    return mod.default as (
      buf: ArrayBuffer,
    ) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
  })();
  return mozjpeg;
}

/** Node: decoders from npm (mozjpeg as WebAssembly, pngjs, omggif), loaded on first use. */
async function decodeInNode(bytes: Uint8Array, format: ImageFormat, source: string): Promise<RgbImage> {
  switch (format) {
    case 'jpeg': {
      const decode = await mozjpegDecoder();
      const img = await decode(bytes.slice().buffer);
      return rgbaToRgb(img.width, img.height, img.data);
    }
    case 'png': {
      const { PNG } = await import('pngjs');
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return rgbaToRgb(png.width, png.height, png.data);
    }
    case 'gif': {
      const { GifReader } = (await import('omggif')).default;
      const gif = new GifReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const rgba = new Uint8Array(gif.width * gif.height * 4);
      // The first frame, as PIL's Image.open reads it.
      gif.decodeAndBlitFrameRGBA(0, rgba);
      return rgbaToRgb(gif.width, gif.height, rgba);
    }
    default:
      throw new ImageLoadError(
        source,
        `${format} images cannot be decoded in Node (supported: JPEG, PNG, GIF)`,
      );
  }
}

/**
 * Decodes encoded image bytes to 8-bit RGB. In a browser (where `createImageBitmap` and
 * `OffscreenCanvas` exist) the platform decoder is used; in Node, libjpeg-turbo's JPEG decoder as
 * WebAssembly (`@jsquash/jpeg`: grayscale, colour, CMYK), pngjs (PNG, any bit depth, alpha dropped)
 * and omggif (GIF, first frame). In Node all three match Pillow's decodings bit for bit on the test
 * fixtures; browsers' decoders may differ by a few levels on JPEG.
 *
 * @throws ImageLoadError for unknown formats or corrupt data, naming `source`
 */
export async function decodeImage(bytes: Uint8Array, source = '<bytes>'): Promise<RgbImage> {
  const format = sniffImageFormat(bytes);
  try {
    const api = browserApi();
    if (api && !isNode) return await decodeInBrowser(api, bytes, source);
    if (format === 'unknown')
      throw new ImageLoadError(
        source,
        `not an image (first bytes ${[...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`,
      );
    return await decodeInNode(bytes, format, source);
  } catch (e) {
    if (e instanceof ImageLoadError) throw e;
    throw new ImageLoadError(source, `could not decode ${format} data: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
