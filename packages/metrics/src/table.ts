import { ShapeError } from '@mmesid/tensor';

/**
 * A dense float32 matrix stored row-major: element (r, c) is `data[r * cols + c]`. An item
 * embedding table has one row per item id (row 0 is padding in the authors' layout).
 *
 * `@mmesid/datasets`' `Matrix` has this shape, so its loaded tables can be passed as they are.
 */
export interface EmbeddingTable {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** Throws a `ShapeError` naming `what` when `t.data` does not hold `rows * cols` values. */
export function checkTable(t: EmbeddingTable, what: string): void {
  if (!Number.isInteger(t.rows) || t.rows < 0 || !Number.isInteger(t.cols) || t.cols < 0) {
    throw new ShapeError(`${what}: rows and cols must be non-negative integers, got ${t.rows} x ${t.cols}`);
  }
  if (t.data.length !== t.rows * t.cols) {
    throw new ShapeError(
      `${what}: ${t.rows} x ${t.cols} needs ${t.rows * t.cols} values but data holds ${t.data.length}`,
    );
  }
}
