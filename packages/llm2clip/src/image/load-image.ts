import { nodeBuiltins } from '@mmesid/core';
import { ImageLoadError, NODE_ONLY } from '../errors.js';
import { decodeImage } from './decode-image.js';
import type { RgbImage } from './rgb-image.js';

/** Options of {@link loadImageBytes} / {@link loadImage}. */
export interface LoadImageOptions {
  /** Abort a download after this many milliseconds (default 30 000). */
  timeoutMs?: number;
  /** The fetch to use for URLs (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

/** True for `http://` and `https://` sources. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

function networkReason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'download timed out';
  const code = err.cause?.code ?? '';
  const detail = err.cause?.message ?? err.message ?? String(e);
  return (
    `could not download (${code || detail}); the network may be unreachable from this machine: ` +
    'download the images elsewhere and pass local paths (ClipVisionEncoder option `resolveImage`)'
  );
}

/**
 * The raw bytes of an image from a local path or an http(s) URL (in a browser, any URL `fetch` takes).
 *
 * @throws ImageLoadError naming the source: missing file, HTTP status, network unreachable, timeout
 */
export async function loadImageBytes(source: string, options: LoadImageOptions = {}): Promise<Uint8Array> {
  const inNode =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
    'string';
  if (isUrl(source) || !inNode) {
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function')
      throw new ImageLoadError(source, 'no fetch() in this runtime to download the image');
    let res: Response;
    try {
      res = await f(source, { signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
    } catch (e) {
      throw new ImageLoadError(source, networkReason(e), { cause: e });
    }
    if (!res.ok) throw new ImageLoadError(source, `HTTP ${res.status} ${res.statusText}`.trim());
    return new Uint8Array(await res.arrayBuffer());
  }
  const { fsp: fs } = await nodeBuiltins(NODE_ONLY);
  try {
    return new Uint8Array(await fs.readFile(source));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const reason =
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new ImageLoadError(source, reason, { cause: e });
  }
}

/**
 * Loads and decodes an image to 8-bit RGB (see `decodeImage` for the decoders used).
 *
 * @throws ImageLoadError naming the source, never a placeholder image
 * @example
 * const img = await loadImage('images/B004756YJA.jpg'); // { width, height, data: Uint8Array RGB }
 */
export async function loadImage(source: string, options: LoadImageOptions = {}): Promise<RgbImage> {
  return decodeImage(await loadImageBytes(source, options), source);
}
