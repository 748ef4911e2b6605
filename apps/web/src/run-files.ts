/**
 * Opening the files of a run, from a web server or from a folder the user picked, as byte streams
 * with sizes, so that the download can report progress. Browser-safe (fetch, File, streams).
 */
import { MmesidError } from '@mmesid/tensor';
import type { RunSource } from './protocol.js';

/** An open file: its size when known, and its bytes as a stream. */
export interface OpenedFile {
  size: number | null;
  stream: ReadableStream<Uint8Array>;
}

/** Opens a run's file by its path relative to the run folder; `null` when it does not exist. */
export type RunFileOpener = (path: string) => Promise<OpenedFile | null>;

function urlOpener(base: string): RunFileOpener {
  return async (path) => {
    const url = new URL(path, base).href;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new MmesidError(
        `${url}: the request failed (${e instanceof Error ? e.message : String(e)}); is the server up and does it allow this origin?`,
      );
    }
    if (res.status === 404) return null;
    if (!res.ok || !res.body) throw new MmesidError(`${url}: HTTP ${res.status} ${res.statusText}`);
    // A compressed response's length counts compressed bytes, not the ones the stream yields.
    const length = res.headers.get('content-length');
    const size = length !== null && !res.headers.get('content-encoding') ? Number(length) : null;
    return { size: Number.isFinite(size) ? size : null, stream: res.body };
  };
}

function filesOpener(files: readonly File[], root: string): RunFileOpener {
  const byPath = new Map<string, File>();
  for (const f of files) {
    const rel = f.webkitRelativePath || f.name;
    if (rel.startsWith(root)) byPath.set(rel.slice(root.length), f);
  }
  return async (path) => {
    const f = byPath.get(path);
    return f ? { size: f.size, stream: f.stream() as ReadableStream<Uint8Array> } : null;
  };
}

/** The opener for a {@link RunSource}. */
export function openerFor(source: RunSource): RunFileOpener {
  return source.kind === 'url' ? urlOpener(source.url) : filesOpener(source.files, source.root);
}

/** A short description of the source for the page (the URL, or the picked folder). */
export function describeSource(source: RunSource): string {
  return source.kind === 'url' ? source.url : source.root || '(picked folder)';
}

/**
 * Reads a stream to its end into one buffer, calling `onBytes(n)` for each chunk. When `size` is
 * known the buffer is allocated once; otherwise chunks are joined at the end.
 */
export async function readAll(
  stream: ReadableStream<Uint8Array>,
  size: number | null,
  onBytes: (n: number) => void,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let out = size !== null ? new Uint8Array(size) : null;
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (out && n + value.length <= out.length) out.set(value, n);
    else {
      if (out) {
        // More bytes than announced: fall back to collecting chunks.
        chunks.push(out.subarray(0, n));
        out = null;
      }
      chunks.push(value);
    }
    n += value.length;
    onBytes(value.length);
  }
  if (out) return n === out.length ? out : out.subarray(0, n);
  const joined = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    joined.set(c, o);
    o += c.length;
  }
  return joined;
}
