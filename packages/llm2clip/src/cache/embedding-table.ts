import { nodeBuiltins } from '@mmesid/core';
import { decodeSafetensor, openSafetensors, saveSafetensors } from '@mmesid/tensor';
import { EmbeddingCacheError, NODE_ONLY } from '../errors.js';
import type { Modality } from '../modality-encoder.js';

/** The `format` value in every embedding table's metadata. */
export const EMBEDDING_TABLE_FORMAT = 'mmesid-embeddings/1';

/**
 * An item embedding table as `encodeItems` writes it: row `id` is item `id`'s vector, row 0 is zero
 * padding. Rows not (yet) encoded are zero and have `done[id] = 0`.
 */
export interface EmbeddingTable {
  /** Name of the encoder that produced it (`ModalityEncoder.name`). */
  readonly encoder: string;
  readonly modality: Modality;
  readonly dim: number;
  /** Number of rows, `maxItemId + 1`. */
  readonly rows: number;
  /** rows x dim, row-major. */
  readonly data: Float32Array;
  /** 1 where the row holds an encoded vector. Row 0 (padding) is always 0. */
  readonly done: Uint8Array;
  /** Per-row hash of the input that was encoded (see `inputHash`), 0 where not done. */
  readonly inputHash: Int32Array;
  /** Items that could not be encoded, by id, with the reason (e.g. the image failed to load). */
  readonly missing: ReadonlyMap<number, string>;
}

/**
 * The JSON written beside `<name>.safetensors`: the same facts in readable form.
 * The safetensors file is the source of truth (its `__metadata__` holds everything here).
 */
export interface EmbeddingTableSummary {
  format: string;
  encoder: string;
  modality: Modality;
  dim: number;
  rows: number;
  /** Rows with a vector. */
  encoded: number;
  /** True when every item passed to the run is either encoded or reported missing. */
  complete: boolean;
  missing: { id: number; reason: string }[];
  updatedAt: string;
}

/** `foo/bar.safetensors` -> `foo/bar.json`. */
export function embeddingTableJsonPath(file: string): string {
  return file.replace(/\.safetensors$/, '') + '.json';
}

/** Throws unless `file` ends with `.safetensors` (the JSON path is derived from it). */
export function checkTablePath(file: string): void {
  if (!file.endsWith('.safetensors'))
    throw new EmbeddingCacheError(file, 'an embedding table path must end with ".safetensors"');
}

async function exists(file: string): Promise<boolean> {
  const { fsp: fs } = await nodeBuiltins(NODE_ONLY);
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** True if a table exists at `file`. */
export function embeddingTableExists(file: string): Promise<boolean> {
  return exists(file);
}

/**
 * Reads a table written by `encodeItems` (complete or partial). Node only.
 *
 * Use it to feed item embeddings to the next stage (RQ-VAE, fusion): `data` is rows x dim with row 0
 * the padding row; check `done`/`missing` before trusting a row.
 *
 * @throws EmbeddingCacheError if the file is not an embedding table or is inconsistent
 * @example
 * const t = await readEmbeddingTable('cache/beauty.text.safetensors');
 * const v = t.data.subarray(5 * t.dim, 6 * t.dim); // item 5
 */
export async function readEmbeddingTable(file: string): Promise<EmbeddingTable> {
  checkTablePath(file);
  const f = await openSafetensors(file);
  try {
    const meta = f.metadata;
    if (meta.format !== EMBEDDING_TABLE_FORMAT)
      throw new EmbeddingCacheError(
        file,
        `not an embedding table (metadata format "${meta.format}", expected "${EMBEDDING_TABLE_FORMAT}")`,
      );
    for (const k of ['embeddings', 'done', 'input_hash'])
      if (!f.has(k)) throw new EmbeddingCacheError(file, `tensor "${k}" is missing`);
    const emb = decodeSafetensor(await f.readTensorBytes('embeddings'), {
      file,
      name: 'embeddings',
      dtype: 'float32',
      reuseBuffer: true,
    });
    const done = decodeSafetensor(await f.readTensorBytes('done'), { file, name: 'done', dtype: 'int32' });
    const hash = decodeSafetensor(await f.readTensorBytes('input_hash'), {
      file,
      name: 'input_hash',
      dtype: 'int32',
      reuseBuffer: true,
    });
    const [rows, dim] = emb.shape as [number, number];
    if (emb.shape.length !== 2 || done.shape.length !== 1 || done.shape[0] !== rows || hash.shape[0] !== rows)
      throw new EmbeddingCacheError(
        file,
        `inconsistent shapes: embeddings [${emb.shape}], done [${done.shape}], input_hash [${hash.shape}]`,
      );
    if (String(dim) !== meta.dim)
      throw new EmbeddingCacheError(
        file,
        `metadata dim ${meta.dim} does not match embeddings [${emb.shape}]`,
      );
    const missing = new Map<number, string>();
    let parsed: unknown;
    try {
      parsed = JSON.parse(meta.missing ?? '[]');
    } catch (cause) {
      throw new EmbeddingCacheError(file, `metadata "missing" is not JSON: ${(cause as Error).message}`);
    }
    if (!Array.isArray(parsed))
      throw new EmbeddingCacheError(file, 'metadata "missing" must be a JSON array');
    for (const m of parsed as { id: number; reason: string }[]) missing.set(m.id, m.reason);
    const modality = meta.modality;
    if (modality !== 'text' && modality !== 'image')
      throw new EmbeddingCacheError(file, `metadata modality "${modality}" is neither "text" nor "image"`);
    return {
      encoder: meta.encoder ?? '',
      modality,
      dim,
      rows,
      data: emb.values as Float32Array,
      done: Uint8Array.from(done.values as Int32Array, (v) => (v ? 1 : 0)),
      inputHash: hash.values as Int32Array,
      missing,
    };
  } finally {
    await f.close();
  }
}

/** The summary of a table, as written to the JSON beside it. */
export function summarizeEmbeddingTable(t: EmbeddingTable, complete: boolean): EmbeddingTableSummary {
  let encoded = 0;
  for (let i = 0; i < t.rows; i++) encoded += t.done[i]!;
  return {
    format: EMBEDDING_TABLE_FORMAT,
    encoder: t.encoder,
    modality: t.modality,
    dim: t.dim,
    rows: t.rows,
    encoded,
    complete,
    missing: [...t.missing].sort((a, b) => a[0] - b[0]).map(([id, reason]) => ({ id, reason })),
    updatedAt: new Date().toISOString(),
  };
}

/**
 * Writes a table as `<name>.safetensors` (tensors `embeddings` F32 [rows, dim], `done` U8 [rows],
 * `input_hash` I32 [rows], everything else in `__metadata__`) and `<name>.json` (a readable summary),
 * each atomically (temporary file, then rename). Node only.
 *
 * Gotcha: the two renames are not one transaction; if the process dies between them the JSON is one
 * save behind. Readers use the safetensors file, which is always whole.
 */
export async function writeEmbeddingTable(
  file: string,
  t: EmbeddingTable,
  complete: boolean,
): Promise<EmbeddingTableSummary> {
  checkTablePath(file);
  if (t.data.length !== t.rows * t.dim)
    throw new EmbeddingCacheError(
      file,
      `data has ${t.data.length} values, expected rows*dim = ${t.rows}*${t.dim}`,
    );
  const summary = summarizeEmbeddingTable(t, complete);
  const { fsp: fs, path } = await nodeBuiltins(NODE_ONLY);
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await saveSafetensors(
    file,
    {
      embeddings: { data: t.data, shape: [t.rows, t.dim], dtype: 'F32' },
      done: { data: t.done, shape: [t.rows], dtype: 'U8' },
      input_hash: { data: t.inputHash, shape: [t.rows], dtype: 'I32' },
    },
    {
      metadata: {
        format: EMBEDDING_TABLE_FORMAT,
        encoder: t.encoder,
        modality: t.modality,
        dim: String(t.dim),
        rows: String(t.rows),
        encoded: String(summary.encoded),
        complete: String(complete),
        missing: JSON.stringify(summary.missing),
        padding_row: '0',
      },
    },
  );
  const json = embeddingTableJsonPath(file);
  const tmp = `${json}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
  await fs.writeFile(tmp, `${JSON.stringify(summary, null, 2)}\n`);
  await fs.rename(tmp, json);
  return summary;
}
