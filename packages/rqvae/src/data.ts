import { ShapeError, tf } from '@mmesid/tensor';
import type { Modality } from './config.js';

/**
 * A dense float32 matrix stored row-major (element (r, c) at `data[r * cols + c]`): one item per
 * row. Structurally the same as `@mmesid/datasets`' `Matrix`, so its loaders' output is accepted
 * as is.
 */
export interface EmbeddingMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** Item embeddings per modality, keyed by modality name; row i of every matrix is the same item. */
export type ModalityInputs = Readonly<Record<string, EmbeddingMatrix>>;

/**
 * Checks that every configured modality is present with the configured width, that all modalities
 * have the same number of rows, and that every value is finite. Returns the number of rows.
 *
 * @throws {ShapeError} naming the modality and what was expected.
 */
export function checkInputs(inputs: ModalityInputs, modalities: readonly Modality[], what: string): number {
  let rows = -1;
  for (const m of modalities) {
    const x = inputs[m.name];
    if (!x)
      throw new ShapeError(
        `${what}: no embeddings for modality "${m.name}" (got ${Object.keys(inputs).join(', ') || 'none'})`,
      );
    if (x.cols !== m.inputDim)
      throw new ShapeError(
        `${what}: modality "${m.name}" has ${x.cols} columns, the config says inputDim ${m.inputDim}`,
      );
    if (x.data.length !== x.rows * x.cols)
      throw new ShapeError(
        `${what}: modality "${m.name}" holds ${x.data.length} values, expected rows x cols = ${x.rows} x ${x.cols}`,
      );
    if (rows >= 0 && x.rows !== rows)
      throw new ShapeError(
        `${what}: modality "${m.name}" has ${x.rows} rows, the others have ${rows} (row i must be item i everywhere)`,
      );
    rows = x.rows;
    for (let i = 0; i < x.data.length; i++) {
      if (!Number.isFinite(x.data[i]!))
        throw new ShapeError(
          `${what}: modality "${m.name}" has a non-finite value at row ${Math.floor(i / x.cols)}, column ${i % x.cols}`,
        );
    }
  }
  if (rows <= 0) throw new ShapeError(`${what}: the embeddings have no rows`);
  return rows;
}

/** Uploads a matrix as a [rows, cols] tensor (the caller disposes it). */
export function toTensor(m: EmbeddingMatrix): tf.Tensor2D {
  return tf.tensor2d(m.data, [m.rows, m.cols], 'float32');
}

/** Rows `[start, end)` of a matrix as a view (no copy). */
export function sliceRows(m: EmbeddingMatrix, start: number, end: number): EmbeddingMatrix {
  return { rows: end - start, cols: m.cols, data: m.data.subarray(start * m.cols, end * m.cols) };
}
