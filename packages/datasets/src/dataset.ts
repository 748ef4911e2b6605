/** What is known about one item: its Amazon id, title and image URL (empty when unknown). */
export interface ItemMeta {
  readonly asin: string;
  readonly title: string;
  readonly imageUrl: string;
}

/** A file a dataset was read from. */
export interface SourceFile {
  readonly path: string;
  readonly bytes?: number;
  readonly sha256?: string;
}

/** What a documented filter removed, so nothing leaves a dataset unaccounted for. */
export interface FilterRecord {
  /** Short stable name, e.g. `k-core`, `missing-title-or-image`, `duplicate-interaction`. */
  readonly name: string;
  /** What the filter does, in words. */
  readonly description: string;
  readonly removedUsers: number;
  readonly removedItems: number;
  readonly removedInteractions: number;
}

/** Where a dataset came from and what was done to it on the way. */
export interface Provenance {
  /** `authors` (the MME-SID files), `amazon2014` (the raw McAuley-lab files) or `synthetic`. */
  readonly kind: 'authors' | 'amazon2014' | 'synthetic';
  readonly files: readonly SourceFile[];
  /** Filters in the order they ran. */
  readonly filters: readonly FilterRecord[];
  /** Free-form facts worth keeping (ordering rules, tie-breaks, the generator config). */
  readonly notes: readonly string[];
}

/**
 * A sequential-recommendation dataset. Item ids are 1-based and `0` is padding, as in the authors'
 * code, so an item table has `numItems + 1` rows. Users are the positions `0..users-1` of
 * `sequences`; `userIds[u]` is the id the source file gave that user.
 *
 * `sequences[u]` holds user u's items oldest first. The arrays are shared, not copied, by the
 * splits and batches built from them (histories are `subarray` views): treat them as read-only.
 */
export interface Dataset {
  /** A short name, e.g. `beauty`. */
  readonly name: string;
  /** The largest item id; the item vocabulary including padding has `numItems + 1` entries. */
  readonly numItems: number;
  /** One chronological item sequence per user. */
  readonly sequences: readonly Int32Array[];
  /** The source's id of each user (the `sequences.txt` user id, or the Amazon reviewerID). */
  readonly userIds: readonly string[];
  /**
   * Item metadata indexed by item id: `items[0]` is `null` (padding) and so is any item whose
   * metadata the source did not give. Length `numItems + 1`.
   */
  readonly items: readonly (ItemMeta | null)[];
  readonly provenance: Provenance;
}

/** A dense float32 matrix stored row-major: element (r, c) is `data[r * cols + c]`. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** Row `r` of a {@link Matrix} as a view (no copy). */
export function matrixRow(m: Matrix, r: number): Float32Array {
  if (!Number.isInteger(r) || r < 0 || r >= m.rows) {
    throw new RangeError(`matrixRow: row ${r} is outside 0..${m.rows - 1}`);
  }
  return m.data.subarray(r * m.cols, (r + 1) * m.cols);
}

/** The total number of interactions (the sum of sequence lengths). */
export function countInteractions(dataset: Pick<Dataset, 'sequences'>): number {
  let n = 0;
  for (const s of dataset.sequences) n += s.length;
  return n;
}
