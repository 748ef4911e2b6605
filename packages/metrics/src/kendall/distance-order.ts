import { ConfigError, ShapeError } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';
import { checkTable, type EmbeddingTable } from '../table.js';
import type { ItemPairs } from './item-pairs.js';
import { kendallTauA, kendallTauB } from './kendall-tau.js';

/** How the distance between two embedding rows is measured. */
export type DistanceMetric = 'euclidean' | 'cosine';

/** Options of {@link pairDistances} and {@link distanceOrderTau}. */
export interface DistanceOptions {
  /** `euclidean` (default): ||a - b||_2. `cosine`: 1 - a.b / (||a|| ||b||). */
  metric?: DistanceMetric;
}

/** The result of {@link distanceOrderTau}. */
export interface DistanceOrderTau {
  /** Kendall's tau-b between the two distance lists; 1 means the order of distances is kept. */
  readonly tau: number;
  /** Kendall's tau-a of the same distances, (C - D) / #pairs: the paper's formula. */
  readonly tauA: number;
  /** Pairs compared. */
  readonly pairs: number;
  readonly metric: DistanceMetric;
}

/**
 * The distance between the rows of each pair, in float64 (the rows are read as float32).
 * A cosine distance of a zero row is undefined and throws.
 *
 * @example
 * const d = pairDistances(table, { first: Int32Array.of(1), second: Int32Array.of(2) });
 */
export function pairDistances(
  table: EmbeddingTable,
  pairs: ItemPairs,
  options: DistanceOptions = {},
): Float64Array {
  const metric = options.metric ?? 'euclidean';
  if (metric !== 'euclidean' && metric !== 'cosine') {
    throw new ConfigError(`pairDistances: metric must be 'euclidean' or 'cosine', got '${String(metric)}'`);
  }
  checkTable(table, 'pairDistances: table');
  checkPairs(pairs, table.rows, 'pairDistances');
  const { data, cols } = table;
  const n = pairs.first.length;
  const out = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const a = pairs.first[p]! * cols;
    const b = pairs.second[p]! * cols;
    if (metric === 'euclidean') {
      let s = 0;
      for (let c = 0; c < cols; c++) {
        const d = data[a + c]! - data[b + c]!;
        s += d * d;
      }
      out[p] = Math.sqrt(s);
    } else {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let c = 0; c < cols; c++) {
        const x = data[a + c]!;
        const y = data[b + c]!;
        dot += x * y;
        na += x * x;
        nb += y * y;
      }
      if (na === 0 || nb === 0) {
        throw new MetricsInputError(
          `pairDistances: row ${na === 0 ? pairs.first[p] : pairs.second[p]} is all zeros, so its cosine distance (pair ${p}) is undefined`,
        );
      }
      out[p] = 1 - dot / Math.sqrt(na * nb);
    }
  }
  return out;
}

/**
 * The paper's forgetting measure: Kendall's tau-b between the distances of the same item pairs in
 * two embedding tables, e.g. the original collaborative (SASRec) table and the quantized or
 * fine-tuned one. tau near 1 means the second table keeps the distance order of the first (nothing
 * forgotten); near 0 means the order is lost. The tables may differ in width but must both hold a
 * row for every id in `pairs` (build them with {@link behaviouralPairs} or {@link randomItemPairs}).
 *
 * @see MME-SID Sec. 4.4, Fig. 2 (Kendall's tau of distances in the original vs the quantized space)
 * @example
 * const pairs = randomItemPairs(table.rows - 1, 50_000, { seed: 1 });
 * const { tau } = distanceOrderTau(sasrec, reconstructed, pairs, { metric: 'cosine' });
 */
export function distanceOrderTau(
  tableA: EmbeddingTable,
  tableB: EmbeddingTable,
  pairs: ItemPairs,
  options: DistanceOptions = {},
): DistanceOrderTau {
  const metric = options.metric ?? 'euclidean';
  const da = pairDistances(tableA, pairs, { metric });
  const db = pairDistances(tableB, pairs, { metric });
  return { tau: kendallTauB(da, db), tauA: kendallTauA(da, db), pairs: da.length, metric };
}

function checkPairs(pairs: ItemPairs, rows: number, what: string): void {
  if (pairs.first.length !== pairs.second.length) {
    throw new ShapeError(
      `${what}: pairs.first has ${pairs.first.length} ids but pairs.second has ${pairs.second.length}`,
    );
  }
  for (const side of ['first', 'second'] as const) {
    const ids = pairs[side];
    for (let p = 0; p < ids.length; p++) {
      const id = ids[p]!;
      if (id < 0 || id >= rows) {
        throw new MetricsInputError(
          `${what}: pairs.${side}[${p}] is item ${id} but the table has rows 0..${rows - 1}`,
        );
      }
    }
  }
}
