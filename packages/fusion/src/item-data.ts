import { normalizedLogFrequency } from '@mmesid/datasets';
import { Rng, ShapeError } from '@mmesid/tensor';

/**
 * A dense float32 item table stored row-major, one row per item id with row 0 the padding item
 * (so `rows = numItems + 1`). `@mmesid/datasets`' `Matrix` has this shape.
 */
export interface ItemTable {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** One modality's semantic IDs and (optionally) the codebooks they index. */
export interface ModalitySemanticIds {
  /** Row-major Int32Array (numItems + 1) x levels; row 0 (padding) is all zeros and never used. */
  readonly ids: Int32Array;
  readonly levels: number;
  readonly codebookSize: number;
  /** Code width (eDim). */
  readonly dim: number;
  /** Row-major Float32Array levels x codebookSize x dim, when the IDs come from a trained tokenizer. */
  readonly codebooks?: Float32Array;
}

/** Semantic IDs per modality, keyed like the item tables. */
export type SemanticIds = Readonly<Record<string, ModalitySemanticIds>>;

/**
 * What `@mmesid/rqvae`'s `loadExport(dir)` returns, structurally (so this package does not need
 * the rqvae runtime to accept it): rows are item ids `firstItemId + r`.
 */
export interface SemanticIdExportLike {
  readonly config: { readonly firstItemId: number; readonly rows: number };
  readonly modalities: Readonly<
    Record<
      string,
      {
        readonly ids: Int32Array;
        readonly codebooks: Float32Array;
        readonly rows: number;
        readonly levels: number;
        readonly codebookSize: number;
        readonly dim: number;
      }
    >
  >;
}

/**
 * Re-indexes an MM-RQ-VAE export by item id: row i of the result is item i (row 0, padding, is
 * zeros). Every item 1..numItems must be in the export.
 *
 * @throws ShapeError naming the modality and the first missing item
 * @example
 * const sids = semanticIdsFromExport(await loadExport('runs/beauty/rqvae'), dataset.numItems);
 */
export function semanticIdsFromExport(exp: SemanticIdExportLike, numItems: number): SemanticIds {
  const out: Record<string, ModalitySemanticIds> = {};
  const first = exp.config.firstItemId;
  for (const [name, m] of Object.entries(exp.modalities)) {
    const L = m.levels;
    if (m.ids.length !== m.rows * L)
      throw new ShapeError(`semantic IDs of "${name}": ${m.ids.length} ids for ${m.rows} rows x ${L} levels`);
    const last = first + m.rows - 1;
    if (first > 1 || last < numItems)
      throw new ShapeError(
        `semantic IDs of "${name}" cover items ${first}..${last}, but the dataset has items 1..${numItems}`,
      );
    const ids = new Int32Array((numItems + 1) * L);
    for (let item = 1; item <= numItems; item++) {
      const r = item - first;
      for (let l = 0; l < L; l++) {
        const code = m.ids[r * L + l]!;
        if (!(code >= 0 && code < m.codebookSize))
          throw new ShapeError(
            `semantic IDs of "${name}": item ${item} level ${l} has code ${code}, outside 0..${m.codebookSize - 1}`,
          );
        ids[item * L + l] = code;
      }
    }
    out[name] = { ids, levels: L, codebookSize: m.codebookSize, dim: m.dim, codebooks: m.codebooks };
  }
  return out;
}

/**
 * Uniformly random semantic IDs (seeded), for the ablations whose SIDs carry no semantics
 * (MME-random, SE-random). No codebooks.
 *
 * @example
 * const sids = randomSemanticIds(['collaborative'], 500, { levels: 4, codebookSize: 256, dim: 64, seed: 1 });
 */
export function randomSemanticIds(
  modalities: readonly string[],
  numItems: number,
  opts: { levels: number; codebookSize: number; dim: number; seed: number },
): SemanticIds {
  const out: Record<string, ModalitySemanticIds> = {};
  for (const name of modalities) {
    const rng = new Rng(`random-sids:${opts.seed}:${name}`);
    const ids = new Int32Array((numItems + 1) * opts.levels);
    for (let i = opts.levels; i < ids.length; i++) ids[i] = rng.int(opts.codebookSize);
    out[name] = { ids, levels: opts.levels, codebookSize: opts.codebookSize, dim: opts.dim };
  }
  return out;
}

/**
 * Checks that each listed modality has a table with `numItems + 1` rows of finite values.
 * @throws ShapeError naming the modality
 */
export function checkItemTables(
  tables: Readonly<Record<string, ItemTable>>,
  modalities: readonly string[],
  numItems: number,
): void {
  for (const m of modalities) {
    const t = tables[m];
    if (!t)
      throw new ShapeError(
        `no item table for modality "${m}" (have: ${Object.keys(tables).join(', ') || 'none'})`,
      );
    if (t.rows !== numItems + 1)
      throw new ShapeError(
        `item table "${m}" has ${t.rows} rows; expected numItems + 1 = ${numItems + 1} (row 0 is padding)`,
      );
    if (t.data.length !== t.rows * t.cols)
      throw new ShapeError(
        `item table "${m}": ${t.rows} x ${t.cols} needs ${t.rows * t.cols} values, has ${t.data.length}`,
      );
    for (let i = 0; i < t.data.length; i++)
      if (!Number.isFinite(t.data[i]!))
        throw new ShapeError(
          `item table "${m}": non-finite value at item ${Math.floor(i / t.cols)}, column ${i % t.cols}`,
        );
  }
}

/**
 * The frequency feature of the fusion module: log(1 + f_i) min-max normalised over items 1..N
 * (row 0 gets 0), from per-item training frequencies (`itemFrequency(split.train, N)`), computed by
 * `@mmesid/datasets`' `normalizedLogFrequency`.
 *
 * @see MME-SID frequency-aware fusion; the authors' `model.py` (`log(fre + 1)`, then min-max)
 * @throws ShapeError when the length is not numItems + 1 or a count is negative
 */
export function frequencyFeature(freq: ArrayLike<number>, numItems: number): Float32Array {
  if (freq.length !== numItems + 1)
    throw new ShapeError(`item frequencies: ${freq.length} entries, expected numItems + 1 = ${numItems + 1}`);
  for (let i = 1; i <= numItems; i++)
    if (!(freq[i]! >= 0))
      throw new ShapeError(`item frequencies: item ${i} has frequency ${freq[i]}; expected a count >= 0`);
  return normalizedLogFrequency(freq);
}
