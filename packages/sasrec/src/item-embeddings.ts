import { nodeBuiltins, readJson, writeJsonAtomic } from '@mmesid/core';
import { loadEmbedding, type Matrix } from '@mmesid/datasets';
import { loadSafetensors, MmesidError, ShapeError, saveSafetensors, tf } from '@mmesid/tensor';
import type { SASRec } from './model.js';
import { NODE_ONLY } from './model-io.js';

/** The file names {@link exportItemEmbeddings} writes. */
export const ITEM_EMB_FILE = 'sasrec_item_emb.safetensors';
export const ITEM_EMB_CONFIG = 'sasrec_item_emb.json';
/** The tensor name inside the safetensors file. */
export const ITEM_EMB_TENSOR = 'item_emb.weight';

/** An item embedding table read by {@link loadItemEmbeddings}. */
export interface ItemEmbeddingTable {
  /** [numItems + 1, dim] row-major; row i is item id i, row 0 is padding. */
  readonly matrix: Matrix;
  readonly numItems: number;
  readonly dim: number;
  /** Which layout it was read from. */
  readonly format: 'safetensors' | 'f32';
  /** The JSON description beside the table, as read. */
  readonly meta: Record<string, unknown>;
}

/**
 * Writes the model's item table, rows 0..numItems (row 0 padding), as `sasrec_item_emb.safetensors`
 * (one float32 tensor `item_emb.weight` [numItems + 1, d]) plus `sasrec_item_emb.json`
 * (`rows`, `cols`, `dtype`, `order`, `paddingIdx`, the architecture and anything in `extra`, e.g.
 * test metrics): the collaborative (ID) modality the rest of the MME-SID pipeline quantises.
 * Both files are written atomically. Returns the two paths.
 *
 * @example
 * await exportItemEmbeddings(model, 'runs/beauty', { test: flattenRankingMetrics(m) });
 * const t = await loadItemEmbeddings('runs/beauty/sasrec_item_emb.safetensors');
 */
export async function exportItemEmbeddings(
  model: SASRec,
  dir: string,
  extra: Record<string, unknown> = {},
): Promise<{ table: string; config: string }> {
  const { fsp, path } = await nodeBuiltins(NODE_ONLY);
  await fsp.mkdir(dir, { recursive: true });
  const table = path.join(dir, ITEM_EMB_FILE);
  const config = path.join(dir, ITEM_EMB_CONFIG);
  const w = model.itemEmbeddings;
  await saveSafetensors(table, { [ITEM_EMB_TENSOR]: w }, { metadata: { format: 'pt', paddingIdx: '0' } });
  await writeJsonAtomic(config, {
    ...extra,
    rows: w.shape[0],
    cols: w.shape[1],
    dtype: 'float32',
    order: 'row-major',
    format: 'safetensors',
    file: ITEM_EMB_FILE,
    tensor: ITEM_EMB_TENSOR,
    paddingIdx: 0,
    numItems: model.config.numItems,
    source: '@mmesid/sasrec',
    model: model.config,
  });
  return { table, config };
}

/**
 * Reads an item embedding table into memory (no tfjs tensor is left behind):
 * - `*.safetensors` written by {@link exportItemEmbeddings} (the JSON beside it is read too);
 * - the authors' bare `*.f32` + `*.json` (e.g. `datasets/beauty/sasrec_item_emb.f32`) through
 *   `@mmesid/datasets`' `loadEmbedding`.
 * Row i is item id i; row 0 is padding (the authors' row 0 is small but not exactly zero).
 *
 * @throws ShapeError when the tensor is not 2-D or disagrees with its JSON.
 */
export async function loadItemEmbeddings(file: string): Promise<ItemEmbeddingTable> {
  const { path } = await nodeBuiltins(NODE_ONLY);
  if (file.endsWith('.f32')) {
    const matrix = await loadEmbedding(file);
    const meta = (await readJson(`${file.slice(0, -4)}.json`)) as Record<string, unknown>;
    return { matrix, numItems: matrix.rows - 1, dim: matrix.cols, format: 'f32', meta };
  }
  if (!file.endsWith('.safetensors'))
    throw new MmesidError(
      `${file}: expected a .safetensors table (with its .json) or an .f32 table (with its .json)`,
    );
  const metaFile = path.join(path.dirname(file), ITEM_EMB_CONFIG);
  const meta = (await readJson(metaFile)) as Record<string, unknown>;
  const name = typeof meta.tensor === 'string' ? meta.tensor : ITEM_EMB_TENSOR;
  const tensors = await loadSafetensors(file);
  try {
    const t = tensors.get(name);
    if (!t) throw new ShapeError(`${file}: no tensor "${name}" (has ${[...tensors.keys()].join(', ')})`);
    if (t.rank !== 2)
      throw new ShapeError(`${file} [${name}]: expected [rows, cols], got shape [${t.shape}]`);
    const [rows, cols] = t.shape as [number, number];
    if ((meta.rows !== undefined && meta.rows !== rows) || (meta.cols !== undefined && meta.cols !== cols))
      throw new ShapeError(
        `${file} [${name}]: shape [${rows}, ${cols}] but ${metaFile} says ${meta.rows} x ${meta.cols}`,
      );
    const data = (await t.data()) as Float32Array;
    return {
      matrix: { rows, cols, data: Float32Array.from(data) },
      numItems: rows - 1,
      dim: cols,
      format: 'safetensors',
      meta,
    };
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
