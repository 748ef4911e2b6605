/**
 * A sparse matrix in compressed sparse row form, float64: row i's entries are
 * `cols[ptr[i]..ptr[i+1])` with `vals` alongside. Columns within a row are in increasing order.
 */
export interface SparseRows {
  readonly rows: number;
  readonly cols: number;
  readonly ptr: Int32Array;
  readonly idx: Int32Array;
  readonly vals: Float64Array;
}

/** Builds a CSR matrix from per-row maps column -> value (columns sorted per row). */
export function sparseRowsFromMaps(maps: readonly Map<number, number>[], cols: number): SparseRows {
  let nnz = 0;
  for (const m of maps) nnz += m.size;
  const ptr = new Int32Array(maps.length + 1);
  const idx = new Int32Array(nnz);
  const vals = new Float64Array(nnz);
  let k = 0;
  maps.forEach((m, i) => {
    const keys = [...m.keys()].sort((a, b) => a - b);
    for (const c of keys) {
      idx[k] = c;
      vals[k] = m.get(c)!;
      k++;
    }
    ptr[i + 1] = k;
  });
  return { rows: maps.length, cols, ptr, idx, vals };
}

/** Y = A X: A sparse [n, m], X dense row-major [m, l] -> new dense row-major [n, l]. */
export function sparseTimesDense(
  a: SparseRows,
  x: Float64Array,
  l: number,
  out = new Float64Array(a.rows * l),
): Float64Array {
  out.fill(0);
  for (let i = 0; i < a.rows; i++) {
    const o = i * l;
    for (let p = a.ptr[i]!; p < a.ptr[i + 1]!; p++) {
      const v = a.vals[p]!;
      const r = a.idx[p]! * l;
      for (let j = 0; j < l; j++) out[o + j] = out[o + j]! + v * x[r + j]!;
    }
  }
  return out;
}

/** Z = A^T Y: A sparse [n, m], Y dense row-major [n, l] -> dense row-major [m, l]. */
export function sparseTransposeTimesDense(
  a: SparseRows,
  y: Float64Array,
  l: number,
  out = new Float64Array(a.cols * l),
): Float64Array {
  out.fill(0);
  for (let i = 0; i < a.rows; i++) {
    const o = i * l;
    for (let p = a.ptr[i]!; p < a.ptr[i + 1]!; p++) {
      const v = a.vals[p]!;
      const r = a.idx[p]! * l;
      for (let j = 0; j < l; j++) out[r + j] = out[r + j]! + v * y[o + j]!;
    }
  }
  return out;
}
