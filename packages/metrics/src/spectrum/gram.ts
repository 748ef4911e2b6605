import { ShapeError } from '@mmesid/tensor';
import { checkTable, type EmbeddingTable } from '../table.js';

/** A dense symmetric n x n float64 matrix, row-major, both triangles filled. */
export interface GramMatrix {
  readonly n: number;
  readonly data: Float64Array;
  /** `columns` for X^T X (n = cols), `rows` for X X^T (n = number of rows used). */
  readonly kind: 'columns' | 'rows';
}

/** Which rows of a table to use (`fromRow` inclusive, `toRow` exclusive). */
export interface RowRange {
  fromRow?: number;
  toRow?: number;
}

/** Rows of the panel packed at a time: 512 x (4 + 2) float64 panel columns stay in L2. */
const PANEL = 512;

/**
 * The Gram matrix of a table's rows `fromRow..toRow-1` in float64: X^T X (d x d) when the rows
 * outnumber the columns, else X X^T (smaller, with the same non-zero eigenvalues). Products and
 * sums are float64, so the only rounding is float64's (the float32 inputs are exact in float64).
 *
 * O(N d min(N, d) / 2) multiply-adds in a register-tiled loop (about 1.4 GFMA/s on one core of
 * this project's CI machine: 12k x 4096 takes about a minute). Use {@link singularValues} with
 * `gram: 'backend'` to compute it in float32 on the tfjs backend instead.
 *
 * @example
 * const g = gramMatrix(table, { fromRow: 1 }); // skip padding row 0
 */
export function gramMatrix(table: EmbeddingTable, range: RowRange = {}): GramMatrix {
  checkTable(table, 'gramMatrix: table');
  const { from, to } = resolveRange(table, range, 'gramMatrix');
  const rows = to - from;
  const d = table.cols;
  if (rows >= d) {
    // Columns of X: entry (r, a) = X[from + r][a].
    const data = symmetricProduct(rows, d, (panel, r0, rb, stride) => {
      for (let r = 0; r < rb; r++) {
        const off = (from + r0 + r) * d;
        for (let a = 0; a < d; a++) panel[a * stride + r] = table.data[off + a]!;
      }
    });
    return { n: d, data, kind: 'columns' };
  }
  // Rows of X as the columns of X^T: entry (c, a) = X[from + a][c].
  const data = symmetricProduct(d, rows, (panel, c0, cb, stride) => {
    for (let a = 0; a < rows; a++) {
      const off = (from + a) * d + c0;
      for (let c = 0; c < cb; c++) panel[a * stride + c] = table.data[off + c]!;
    }
  });
  return { n: rows, data, kind: 'rows' };
}

/** Validates a row range against a table and fills in its defaults. */
export function resolveRange(
  table: EmbeddingTable,
  range: RowRange,
  what: string,
): { from: number; to: number } {
  const from = range.fromRow ?? 0;
  const to = range.toRow ?? table.rows;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > table.rows || from >= to) {
    throw new ShapeError(
      `${what}: row range ${from}..${to} (toRow exclusive) is not a non-empty part of 0..${table.rows}`,
    );
  }
  if (table.cols < 1) throw new ShapeError(`${what}: the table has no columns`);
  return { from, to };
}

/**
 * M^T M for an implicit len x n matrix M whose entries `fill` packs, a panel of `rb` rows at a
 * time, column-major into `panel` (entry (r, a) at a * stride + r). Computes the upper triangle
 * with a 4 x 2 register tile over float64 accumulators and mirrors it.
 */
function symmetricProduct(
  len: number,
  n: number,
  fill: (panel: Float64Array, r0: number, rb: number, stride: number) => void,
): Float64Array {
  const np = Math.ceil(n / 4) * 4; // padded with zero columns so the 4 x 2 tile never runs over
  const g = new Float64Array(np * np);
  const panel = new Float64Array(np * PANEL);
  for (let r0 = 0; r0 < len; r0 += PANEL) {
    const rb = Math.min(PANEL, len - r0);
    fill(panel, r0, rb, rb);
    for (let a = 0; a < np; a += 4) {
      const a0 = a * rb;
      const a1 = a0 + rb;
      const a2 = a1 + rb;
      const a3 = a2 + rb;
      for (let b = a; b < np; b += 2) {
        const b0 = b * rb;
        const b1 = b0 + rb;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        let s20 = 0;
        let s21 = 0;
        let s30 = 0;
        let s31 = 0;
        for (let r = 0; r < rb; r++) {
          const x0 = panel[a0 + r]!;
          const x1 = panel[a1 + r]!;
          const x2 = panel[a2 + r]!;
          const x3 = panel[a3 + r]!;
          const y0 = panel[b0 + r]!;
          const y1 = panel[b1 + r]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s30 += x3 * y0;
          s31 += x3 * y1;
        }
        const o = a * np + b;
        g[o]! += s00;
        g[o + 1]! += s01;
        g[o + np]! += s10;
        g[o + np + 1]! += s11;
        g[o + 2 * np]! += s20;
        g[o + 2 * np + 1]! += s21;
        g[o + 3 * np]! += s30;
        g[o + 3 * np + 1]! += s31;
      }
    }
  }
  // The tile starting at b = a (a multiple of 4) also wrote some entries below the diagonal
  // (rows a+1..a+3, columns a..a+2): they are correct values, mirrored over below anyway.
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = g[i * np + i]!;
    for (let j = i + 1; j < n; j++) {
      const v = g[i * np + j]!;
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}
