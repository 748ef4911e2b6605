/**
 * Where a model's files come from, behind one API: a local directory (Node), a base URL (fetch,
 * with a progress callback and the Cache API where the runtime has it), or `File`/`Blob` objects
 * (a browser's file picker or drag and drop). The loaders (`fromPretrained`, `HfTokenizer.fromDir`,
 * `loadAdapter`) take any of them.
 */
import { MmesidError, SafetensorsError } from '../errors.js';
import { rawToTfTensor, readSafetensorsBytes } from '../safetensors/read.js';
import {
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_SINGLE_FILE,
  type SafetensorsCheckpoint,
} from '../safetensors/sharded.js';

/**
 * Files by name: a map or record from a file name (`config.json`) to its `Blob`, or the `File`s of a
 * folder (an `<input type="file" webkitdirectory>`'s `FileList`, an array of `File`), looked up by
 * their base name.
 */
export type ModelFileMap = ReadonlyMap<string, Blob> | Readonly<Record<string, Blob>> | Iterable<File>;

/**
 * A model folder: a directory path (Node), an `http(s):` URL or `URL` (in a browser, any string is a
 * URL relative to the page), or {@link ModelFileMap} objects.
 */
export type ModelSource = string | URL | ModelFileMap;

/** Bytes of one file received so far (`total` when the server sent a length). */
export interface LoadProgress {
  file: string;
  loaded: number;
  total?: number;
}

export interface ModelSourceOptions {
  /** Called as each fetched file arrives (URL sources; blobs and local files report once, complete). */
  onProgress?: (p: LoadProgress) => void;
  /**
   * Cache API cache for URL sources: its name, or `false` to bypass it. Default `'mmesid-models'`
   * where `caches` exists (browsers and workers on https or localhost); elsewhere nothing is cached.
   */
  cache?: string | false;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

/** Reads the files of one model folder. */
export interface ModelFiles {
  /** How the folder is named in messages: the directory, the base URL, or `<files: a, b, ...>`. */
  readonly label: string;
  readonly kind: 'dir' | 'url' | 'blobs';
  /** The file's path or URL, for messages. */
  where(name: string): string;
  /** The file's bytes, or undefined when it does not exist (404, no such file or blob). */
  tryBytes(name: string): Promise<Uint8Array | undefined>;
  /** The file's bytes; throws `MmesidError` naming it when it is missing. */
  bytes(name: string): Promise<Uint8Array>;
  /** The file as UTF-8 text, or undefined when it does not exist. */
  tryText(name: string): Promise<string | undefined>;
  /** The file parsed as JSON; throws naming it when it is missing or not JSON. */
  json(name: string): Promise<unknown>;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function inNode(): boolean {
  return !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
}

/** Whether `source` is a local directory path (read with `node:fs`) rather than a URL or blobs. */
export function isLocalDirSource(source: ModelSource): source is string {
  return typeof source === 'string' && inNode() && !SCHEME.test(source);
}

function isBlob(x: unknown): x is Blob {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

function blobMap(source: ModelFileMap): Map<string, Blob> {
  const out = new Map<string, Blob>();
  if (source instanceof Map) {
    for (const [k, v] of source) out.set(k, v);
    return out;
  }
  if (typeof (source as Iterable<File>)[Symbol.iterator] === 'function') {
    for (const f of source as Iterable<File>) {
      if (!isBlob(f)) throw new MmesidError(`model files: ${String(f)} is not a File or Blob`);
      const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
      out.set(rel.split('/').pop()!, f);
    }
    return out;
  }
  for (const [k, v] of Object.entries(source as Record<string, Blob>)) {
    if (!isBlob(v)) throw new MmesidError(`model files: "${k}" is not a File or Blob`);
    out.set(k, v);
  }
  return out;
}

function baseUrl(source: string | URL): string {
  const g = globalThis as { location?: { href?: string } };
  const u = new URL(String(source), g.location?.href);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

async function readBody(
  res: Response,
  file: string,
  onProgress?: (p: LoadProgress) => void,
): Promise<Uint8Array> {
  const total = Number(res.headers.get('content-length')) || undefined;
  if (!res.body || !onProgress) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.({ file, loaded: bytes.length, ...(total ? { total } : {}) });
    return bytes;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress({ file, loaded, ...(total ? { total } : {}) });
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

function urlFiles(source: string | URL, opts: ModelSourceOptions): ModelFiles {
  const base = baseUrl(source);
  const doFetch = opts.fetch ?? globalThis.fetch;
  const g = globalThis as { caches?: CacheStorage };
  const cacheName = opts.cache === false ? undefined : (opts.cache ?? 'mmesid-models');
  const open = async (): Promise<Cache | undefined> => {
    if (!cacheName || !g.caches) return undefined;
    try {
      return await g.caches.open(cacheName);
    } catch {
      return undefined; // e.g. an opaque origin: load without caching
    }
  };
  const tryBytes = async (name: string): Promise<Uint8Array | undefined> => {
    const url = new URL(name, base).href;
    const cache = await open();
    let res = await cache?.match(url);
    if (!res) {
      try {
        res = await doFetch(url);
      } catch {
        // One retry: a kept-alive connection the server closed while idle fails the first request.
        try {
          res = await doFetch(url);
        } catch (e) {
          const why =
            (e as Error).message +
            ((e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : '');
          throw new MmesidError(`${url}: fetch failed (${why})`, { cause: e });
        }
      }
      if (res.status === 404 || res.status === 410) return undefined;
      if (!res.ok) throw new MmesidError(`${url}: HTTP ${res.status} ${res.statusText}`);
      if (cache) await cache.put(url, res.clone()).catch(() => {});
    }
    return readBody(res, name, opts.onProgress);
  };
  return files('url', base, (n) => new URL(n, base).href, tryBytes);
}

function blobFiles(source: ModelFileMap, opts: ModelSourceOptions): ModelFiles {
  const map = blobMap(source);
  const label = `<files: ${[...map.keys()].join(', ')}>`;
  return files(
    'blobs',
    label,
    (n) => `${n} (of ${label})`,
    async (name) => {
      const b = map.get(name);
      if (!b) return undefined;
      const bytes = new Uint8Array(await b.arrayBuffer());
      opts.onProgress?.({ file: name, loaded: bytes.length, total: bytes.length });
      return bytes;
    },
  );
}

function dirFiles(dir: string, opts: ModelSourceOptions): ModelFiles {
  const join = (n: string) => `${dir.replace(/[\\/]+$/, '')}/${n}`;
  return files('dir', dir, join, async (name) => {
    const fs = await import('node:fs/promises');
    try {
      const bytes = new Uint8Array(await fs.readFile(join(name)));
      opts.onProgress?.({ file: name, loaded: bytes.length, total: bytes.length });
      return bytes;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw new MmesidError(`${join(name)}: cannot read (${(e as Error).message})`, { cause: e });
    }
  });
}

function files(
  kind: ModelFiles['kind'],
  label: string,
  where: (name: string) => string,
  tryBytes: (name: string) => Promise<Uint8Array | undefined>,
): ModelFiles {
  const bytes = async (name: string) => {
    const b = await tryBytes(name);
    if (!b) throw new MmesidError(`${where(name)}: not found`);
    return b;
  };
  const tryText = async (name: string) => {
    const b = await tryBytes(name);
    return b && new TextDecoder().decode(b);
  };
  return {
    kind,
    label,
    where,
    tryBytes,
    bytes,
    tryText,
    json: async (name) => {
      const text = await tryText(name);
      if (text === undefined) throw new MmesidError(`${where(name)}: not found`);
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        throw new MmesidError(`${where(name)}: not valid JSON (${(e as Error).message})`);
      }
    },
  };
}

/**
 * The files of a model folder, wherever they are (see {@link ModelSource}).
 *
 * @example
 * const files = modelFiles('https://example.org/models/stories260k/', { onProgress: console.log });
 * const config = await files.json('config.json');
 */
export function modelFiles(source: ModelSource, opts: ModelSourceOptions = {}): ModelFiles {
  if (isLocalDirSource(source)) return dirFiles(source, opts);
  if (typeof source === 'string' || source instanceof URL) return urlFiles(source, opts);
  return blobFiles(source, opts);
}

/**
 * Opens the safetensors checkpoint of a model folder held in memory: `model.safetensors`, else
 * `model.safetensors.index.json` and its shards (every shard fetched; each tensor must be in the
 * shard the index names, and no shard may hold a tensor the index does not list). For a local
 * directory in Node prefer `openCheckpoint`, which reads one tensor at a time from disk.
 *
 * @throws SafetensorsError naming the file (and tensor) on any inconsistency
 */
export async function openCheckpointFiles(files: ModelFiles): Promise<SafetensorsCheckpoint> {
  const single = await files.tryBytes(SAFETENSORS_SINGLE_FILE);
  const parts: { file: string; tensors: ReturnType<typeof readSafetensorsBytes> }[] = [];
  const owner = new Map<string, number>();
  let metadata: Record<string, unknown>;
  let sharded = false;
  if (single) {
    const where = files.where(SAFETENSORS_SINGLE_FILE);
    const c = readSafetensorsBytes(single, { file: where });
    parts.push({ file: where, tensors: c });
    for (const k of c.tensors.keys()) owner.set(k, 0);
    metadata = c.metadata;
  } else {
    const indexWhere = files.where(SAFETENSORS_INDEX_FILE);
    const text = await files.tryText(SAFETENSORS_INDEX_FILE);
    if (text === undefined)
      throw new SafetensorsError(
        files.label,
        `no ${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE} here`,
      );
    let index: { weight_map?: unknown; metadata?: unknown };
    try {
      index = JSON.parse(text) as typeof index;
    } catch (e) {
      throw new SafetensorsError(indexWhere, `index is not valid JSON: ${(e as Error).message}`);
    }
    const wm = index.weight_map;
    if (!wm || typeof wm !== 'object' || Array.isArray(wm))
      throw new SafetensorsError(indexWhere, 'index is not an object with a "weight_map" object');
    sharded = true;
    metadata =
      index.metadata && typeof index.metadata === 'object' ? (index.metadata as Record<string, unknown>) : {};
    const shardOf = new Map<string, number>();
    for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard))
        throw new SafetensorsError(
          indexWhere,
          `weight_map entry is ${JSON.stringify(shard)}, expected a file name`,
          name,
        );
      if (!shardOf.has(shard)) {
        const bytes = await files.tryBytes(shard);
        if (!bytes)
          throw new SafetensorsError(indexWhere, `weight_map points to ${shard}, which does not exist`, name);
        const where = files.where(shard);
        shardOf.set(shard, parts.length);
        parts.push({ file: where, tensors: readSafetensorsBytes(bytes, { file: where }) });
      }
      const i = shardOf.get(shard)!;
      if (!parts[i]!.tensors.tensors.has(name))
        throw new SafetensorsError(
          parts[i]!.file,
          `listed in ${SAFETENSORS_INDEX_FILE} but missing from this shard`,
          name,
        );
      owner.set(name, i);
    }
    for (const p of parts)
      for (const name of p.tensors.tensors.keys())
        if (parts[owner.get(name) ?? -1] !== p)
          throw new SafetensorsError(
            p.file,
            `present in this shard but not listed in ${SAFETENSORS_INDEX_FILE}`,
            name,
          );
  }
  const raw = (name: string) => {
    const i = owner.get(name);
    if (i === undefined) throw new SafetensorsError(files.label, 'no such tensor in this checkpoint', name);
    return { part: parts[i]!, t: parts[i]!.tensors.tensors.get(name)! };
  };
  return {
    dir: files.label,
    sharded,
    files: parts.map((p) => p.file),
    metadata,
    keys: () => [...owner.keys()],
    has: (name) => owner.has(name),
    info: (name) => {
      const { part } = raw(name);
      return { ...part.tensors.header.tensors.get(name)!, file: part.file };
    },
    readTensorBytes: async (name) => {
      const { t } = raw(name);
      return { dtype: t.dtype, shape: [...t.shape], data: t.data.slice() };
    },
    readTensor: async (name, options) => {
      const { part, t } = raw(name);
      return rawToTfTensor(t, { name, file: part.file, ...options });
    },
    close: async () => {},
  };
}
