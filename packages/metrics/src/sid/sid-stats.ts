import { ConfigError, ShapeError } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';

/** A matrix of semantic IDs: row i holds item i's L codes, level 0 first (`data[i * levels + l]`). */
export interface CodeMatrix {
  readonly rows: number;
  /** L, the number of quantisation levels. */
  readonly levels: number;
  readonly data: Int32Array;
}

/** Codebook statistics of one level. */
export interface LevelStats {
  /** Distinct codes used at this level. */
  readonly usedCodes: number;
  /** `usedCodes / K`. */
  readonly usage: number;
  /** Shannon entropy of the level's code distribution over the items, in nats. */
  readonly entropy: number;
  /** exp(entropy): the effective number of codes, K when usage is perfectly uniform. */
  readonly perplexity: number;
}

/** The result of {@link semanticIdStats}. */
export interface SemanticIdStats {
  readonly items: number;
  readonly levels: number;
  readonly codebookSize: number;
  /** Distinct full ID tuples. */
  readonly distinctIds: number;
  /**
   * Fraction of items whose full ID tuple is shared with at least one other item (every member of
   * a bucket of size >= 2 counts). 0 means every item has a unique semantic ID.
   */
  readonly collisionRate: number;
  /** Items that share their tuple (collisionRate * items). */
  readonly collidingItems: number;
  /** 1 - distinctIds / items: the fraction of items that would need a disambiguating suffix. */
  readonly duplicateRate: number;
  /** Largest number of items sharing one tuple (1 when there is no collision). */
  readonly maxBucketSize: number;
  /** Per-level codebook usage and perplexity, level 0 first. */
  readonly perLevel: readonly LevelStats[];
}

/**
 * Collision and codebook-usage statistics of semantic IDs (an N x L code matrix, codes in
 * 0..K-1): how many items share a full ID tuple, how many codes each level uses and how evenly
 * (perplexity exp(-sum p log p), natural log). Use it to judge an RQ-VAE's codebooks: a healthy
 * one has usage near 1, perplexity near K and a low collision rate.
 *
 * @see MME-SID MM-RQ-VAE (semantic IDs: L levels x K codes per modality)
 * @example
 * const s = semanticIdStats({ rows: 12086, levels: 3, data: codes }, 256);
 * s.collisionRate; s.perLevel[0].perplexity;
 */
export function semanticIdStats(codes: CodeMatrix, codebookSize: number): SemanticIdStats {
  const { rows, levels, data } = codes;
  if (!Number.isInteger(codebookSize) || codebookSize < 1) {
    throw new ConfigError(`semanticIdStats: codebookSize must be an integer >= 1, got ${codebookSize}`);
  }
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(levels) || levels < 1) {
    throw new ShapeError(`semanticIdStats: need at least one item and one level, got ${rows} x ${levels}`);
  }
  if (data.length !== rows * levels) {
    throw new ShapeError(
      `semanticIdStats: ${rows} items x ${levels} levels needs ${rows * levels} codes, got ${data.length}`,
    );
  }
  const K = codebookSize;
  const counts = new Int32Array(levels * K);
  for (let i = 0; i < rows; i++) {
    for (let l = 0; l < levels; l++) {
      const c = data[i * levels + l]!;
      if (c < 0 || c >= K) {
        throw new MetricsInputError(
          `semanticIdStats: item ${i} level ${l} has code ${c}; codes must be in 0..${K - 1}`,
        );
      }
      counts[l * K + c]!++;
    }
  }
  const perLevel: LevelStats[] = [];
  for (let l = 0; l < levels; l++) {
    let used = 0;
    let entropy = 0;
    for (let c = 0; c < K; c++) {
      const k = counts[l * K + c]!;
      if (k === 0) continue;
      used++;
      const p = k / rows;
      entropy -= p * Math.log(p);
    }
    perLevel.push({ usedCodes: used, usage: used / K, entropy, perplexity: Math.exp(entropy) });
  }

  // Bucket the tuples: a numeric key while K^L fits in a double exactly, else a string key.
  const buckets = new Map<number | string, number>();
  const numeric = levels * Math.log2(K) <= 52;
  for (let i = 0; i < rows; i++) {
    let key: number | string;
    if (numeric) {
      let v = 0;
      for (let l = 0; l < levels; l++) v = v * K + data[i * levels + l]!;
      key = v;
    } else {
      key = Array.from(data.subarray(i * levels, (i + 1) * levels)).join(',');
    }
    buckets.set(key, (buckets.get(key) ?? 0) + 1);
  }
  let colliding = 0;
  let maxBucket = 0;
  for (const size of buckets.values()) {
    if (size > 1) colliding += size;
    maxBucket = Math.max(maxBucket, size);
  }
  return {
    items: rows,
    levels,
    codebookSize: K,
    distinctIds: buckets.size,
    collisionRate: colliding / rows,
    collidingItems: colliding,
    duplicateRate: 1 - buckets.size / rows,
    maxBucketSize: maxBucket,
    perLevel,
  };
}
