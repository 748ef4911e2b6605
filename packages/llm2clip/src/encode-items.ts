import { ConfigError } from '@mmesid/tensor';
import {
  checkTablePath,
  type EmbeddingTable,
  embeddingTableExists,
  readEmbeddingTable,
  writeEmbeddingTable,
} from './cache/embedding-table.js';
import { inputHash } from './cache/input-hash.js';
import { EmbeddingCacheError } from './errors.js';
import { type Item, type ItemMetaLike, itemsFromMeta } from './item.js';
import { encodeBatchOf, isStagedEncoder, type ModalityEncoder } from './modality-encoder.js';
import type { EncodeProgress } from './progress.js';

/** Options of {@link encodeItems}. */
export interface EncodeItemsOptions {
  /**
   * Where the table lives (`*.safetensors`, with `*.json` beside it). When it exists it is resumed:
   * rows already encoded from the same input are kept, never re-encoded. Omit to encode in memory.
   */
  cacheFile?: string;
  /**
   * For a {@link StagedEncoder} (the LLM2CLIP text encoder), where the backbone's vectors are cached;
   * default `<cacheFile without .safetensors>.backbone.safetensors`.
   */
  backboneCacheFile?: string;
  /** Items per `encode` call (default 16). Results do not depend on it. */
  batchSize?: number;
  /** Table rows; default `max item id + 1`. Set it to `numItems + 1` when some items are not passed. */
  rows?: number;
  /** Called after every batch (and once at the start) with counts, rate and ETA. See `progressPrinter`. */
  onProgress?: (p: EncodeProgress) => void;
  /** Save the partial table at most this often while running (default 60 s); it is always saved at the end. */
  saveEverySeconds?: number;
  /** Stops after the current batch: the partial table is saved, then the promise rejects with the abort reason. */
  signal?: AbortSignal;
  /** Encode again the items the cache lists as missing (e.g. after the network came back). Default false. */
  retryMissing?: boolean;
  /** Clock for rates (injectable for tests); default `performance.now`. */
  now?: () => number;
}

/** What {@link encodeItems} did. */
export interface EncodeItemsResult {
  /** The full table (row 0 = padding, row id = item id). */
  table: EmbeddingTable;
  /** Items encoded in this run. */
  encoded: number;
  /** Items whose vectors came from the cache. */
  fromCache: number;
  /** Cached rows whose input (title / image source) had changed and were encoded again. */
  stale: number;
  /** Items that could not be encoded, by id, with the reason. Never filled with made-up vectors. */
  missing: ReadonlyMap<number, string>;
  /** True when every item passed is encoded or reported missing. */
  complete: boolean;
  /** Wall time of the run in seconds. */
  seconds: number;
  /** For a staged encoder, the backbone stage's result. */
  backbone?: EncodeItemsResult;
}

/** Anything `encodeItems` accepts as its items: a list, or a dataset with an `items` metadata table. */
export type ItemSource = readonly Item[] | { readonly items: readonly (ItemMetaLike | null | undefined)[] };

function toItems(source: ItemSource): readonly Item[] {
  return Array.isArray(source)
    ? (source as readonly Item[])
    : itemsFromMeta((source as { items: readonly (ItemMetaLike | null)[] }).items);
}

function inputOf(item: Item, modality: ModalityEncoder['modality']): string | undefined {
  const v = modality === 'text' ? item.title : item.image;
  return v === undefined || v.trim() === '' ? undefined : v;
}

function emptyTable(encoder: ModalityEncoder, rows: number): EmbeddingTable {
  return {
    encoder: encoder.name,
    modality: encoder.modality,
    dim: encoder.dim,
    rows,
    data: new Float32Array(rows * encoder.dim),
    done: new Uint8Array(rows),
    inputHash: new Int32Array(rows),
    missing: new Map(),
  };
}

async function openTable(
  file: string | undefined,
  encoder: ModalityEncoder,
  rows: number,
): Promise<EmbeddingTable> {
  if (!file || !(await embeddingTableExists(file))) return emptyTable(encoder, rows);
  const t = await readEmbeddingTable(file);
  const diffs: string[] = [];
  if (t.encoder !== encoder.name) diffs.push(`encoder "${t.encoder}" vs "${encoder.name}"`);
  if (t.modality !== encoder.modality) diffs.push(`modality ${t.modality} vs ${encoder.modality}`);
  if (t.dim !== encoder.dim) diffs.push(`dim ${t.dim} vs ${encoder.dim}`);
  if (t.rows !== rows) diffs.push(`rows ${t.rows} vs ${rows}`);
  if (diffs.length)
    throw new EmbeddingCacheError(
      file,
      `the cache was written by another run (${diffs.join(', ')}); delete it or choose another cacheFile`,
    );
  return t;
}

function validate(items: readonly Item[], rowsOpt: number | undefined): number {
  const seen = new Set<number>();
  let max = 0;
  for (const it of items) {
    if (!Number.isInteger(it.id) || it.id < 1)
      throw new ConfigError(`encodeItems: item ids must be integers >= 1 (row 0 is padding), got ${it.id}`);
    if (seen.has(it.id)) throw new ConfigError(`encodeItems: item id ${it.id} appears twice`);
    seen.add(it.id);
    if (it.id > max) max = it.id;
  }
  const rows = rowsOpt ?? max + 1;
  if (!Number.isInteger(rows) || rows < max + 1)
    throw new ConfigError(
      `encodeItems: rows = ${rows} cannot hold item id ${max} (need at least ${max + 1})`,
    );
  return rows;
}

/**
 * Encodes every item with `encoder` into an item table (row 0 = zero padding, row `id` = item `id`),
 * in batches, with progress, resumable and cached on disk.
 *
 * - Resume: with `cacheFile`, rows already encoded (same encoder name, same input text/image source)
 *   are never encoded again; an interrupted run (crash, Ctrl-C via `signal`) continues where the last
 *   save left it. Saves are atomic (temporary file + rename) every `saveEverySeconds` and at the end.
 * - Missing inputs (no title, an image that does not load) are recorded per id with the reason and
 *   keep a zero row with `done = 0`: never a made-up vector. Re-runs skip them unless `retryMissing`.
 * - Staged encoders (`Llm2VecTextEncoder`): the backbone's vectors go to `backboneCacheFile`, the head
 *   runs on cached backbone vectors, so changing the adapter never re-runs the LLM.
 *
 * Node only when `cacheFile` is given (file I/O); in memory anywhere.
 *
 * @throws EmbeddingCacheError if the cache belongs to another encoder, dim or row count
 * @example
 * const enc = await TfidfSvdTextEncoder.fit(items.map((i) => i.title!), { dim: 64, seed: 0 });
 * const bar = progressPrinter(process.stderr);
 * const { table, missing } = await encodeItems(items, enc, {
 *   cacheFile: 'cache/beauty.tfidf64.safetensors', batchSize: 256, onProgress: bar.update,
 * });
 * bar.finish();
 */
export async function encodeItems(
  source: ItemSource,
  encoder: ModalityEncoder,
  options: EncodeItemsOptions = {},
): Promise<EncodeItemsResult> {
  const items = toItems(source);
  const rows = validate(items, options.rows);
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ConfigError(`encodeItems: batchSize must be >= 1, got ${batchSize}`);
  if (options.cacheFile) checkTablePath(options.cacheFile);
  const table = await openTable(options.cacheFile, encoder, rows);
  const missing = table.missing as Map<number, string>;

  let backbone: EncodeItemsResult | undefined;
  if (isStagedEncoder(encoder)) {
    const bbFile =
      options.backboneCacheFile ??
      (options.cacheFile ? options.cacheFile.replace(/\.safetensors$/, '.backbone.safetensors') : undefined);
    backbone = await encodeItems(items, encoder.backbone, { ...options, cacheFile: bbFile, rows });
  }

  // Sort the work: cached, stale (input changed), known-missing, to do.
  const todo: Item[] = [];
  let fromCache = 0;
  let stale = 0;
  for (const it of items) {
    const input = inputOf(it, encoder.modality);
    if (input === undefined) {
      missing.set(it.id, encoder.modality === 'text' ? 'item has no title' : 'item has no image');
      table.done[it.id] = 0;
      table.inputHash[it.id] = 0;
      table.data.fill(0, it.id * encoder.dim, (it.id + 1) * encoder.dim);
      continue;
    }
    const h = inputHash(input);
    if (table.done[it.id]) {
      if (table.inputHash[it.id] === h) {
        fromCache++;
        continue;
      }
      stale++;
    } else if (missing.has(it.id) && !options.retryMissing) {
      continue;
    }
    todo.push(it);
  }
  const total = items.length;
  const label = encoder.name;
  let encodedThisRun = 0;
  let runMissing = 0;
  const report = () => {
    if (!options.onProgress) return;
    const secs = Math.max(1e-9, (now() - t0) / 1000);
    const rate = encodedThisRun / secs;
    const left = todo.length - encodedThisRun - runMissing;
    options.onProgress({
      label,
      done: total - left,
      total,
      encodedThisRun,
      missing: missing.size,
      rate,
      etaSeconds: left === 0 ? 0 : rate > 0 ? left / rate : Number.POSITIVE_INFINITY,
    });
  };
  let lastSave = now();
  const saveEvery = (options.saveEverySeconds ?? 60) * 1000;
  const isComplete = () => items.every((it) => table.done[it.id] === 1 || missing.has(it.id));
  const save = async () => {
    if (options.cacheFile) await writeEmbeddingTable(options.cacheFile, table, isComplete());
    lastSave = now();
  };

  report();
  try {
    for (let start = 0; start < todo.length; start += batchSize) {
      // Let the event loop run (signals such as Ctrl-C, timers, I/O): on the cpu and wasm backends
      // `await tensor.data()` settles as a microtask, so a batch loop would otherwise never yield.
      await new Promise<void>((r) => setTimeout(r, 0));
      if (options.signal?.aborted) {
        await save();
        throw options.signal.reason ?? new Error('encodeItems aborted');
      }
      const batch = todo.slice(start, start + batchSize);
      let vectors: Float32Array;
      let batchMissing: { index: number; reason: string }[];
      if (backbone && isStagedEncoder(encoder)) {
        // Head stage: read backbone vectors; items the backbone could not encode are missing here too.
        const bb = backbone.table;
        const ready = batch.filter((it) => bb.done[it.id]);
        const pre = new Float32Array(ready.length * bb.dim);
        for (const [i, it] of ready.entries())
          pre.set(bb.data.subarray(it.id * bb.dim, (it.id + 1) * bb.dim), i * bb.dim);
        const out = ready.length ? await encoder.head(pre, ready.length) : new Float32Array(0);
        vectors = new Float32Array(batch.length * encoder.dim);
        batchMissing = [];
        let r = 0;
        batch.forEach((it, i) => {
          if (bb.done[it.id]) vectors.set(out.subarray(r * encoder.dim, ++r * encoder.dim), i * encoder.dim);
          else batchMissing.push({ index: i, reason: bb.missing.get(it.id) ?? 'backbone vector missing' });
        });
      } else {
        const enc = await encodeBatchOf(encoder, batch);
        vectors = enc.vectors;
        batchMissing = [...enc.missing];
      }
      if (vectors.length !== batch.length * encoder.dim)
        throw new EmbeddingCacheError(
          options.cacheFile ?? '<memory>',
          `${encoder.name} returned ${vectors.length} values for ${batch.length} items of dim ${encoder.dim}`,
        );
      const bad = new Set(batchMissing.map((m) => m.index));
      batch.forEach((it, i) => {
        if (bad.has(i)) return;
        table.data.set(vectors.subarray(i * encoder.dim, (i + 1) * encoder.dim), it.id * encoder.dim);
        table.done[it.id] = 1;
        table.inputHash[it.id] = inputHash(inputOf(it, encoder.modality)!);
        missing.delete(it.id);
        encodedThisRun++;
      });
      for (const m of batchMissing) {
        const it = batch[m.index]!;
        table.data.fill(0, it.id * encoder.dim, (it.id + 1) * encoder.dim);
        table.done[it.id] = 0;
        table.inputHash[it.id] = 0;
        missing.set(it.id, m.reason);
        runMissing++;
      }
      report();
      if (now() - lastSave >= saveEvery) await save();
    }
  } catch (e) {
    // Keep what was done: an interrupted run resumes from here.
    if (options.cacheFile && !options.signal?.aborted) await save().catch(() => {});
    throw e;
  }
  await save();
  return {
    table,
    encoded: encodedThisRun,
    fromCache,
    stale,
    missing,
    complete: isComplete(),
    seconds: (now() - t0) / 1000,
    ...(backbone ? { backbone } : {}),
  };
}
