import type { Dataset } from './dataset.js';
import type { LeaveOneOutSplit } from './split.js';

/** Min, max, mean and median (numpy's: the mean of the two middle values for an even count). */
export interface LengthStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly median: number;
}

/** The figures printed when a dataset loads. */
export interface DatasetReport {
  readonly name: string;
  readonly users: number;
  /** The catalogue size: the largest item id (ids 1..items; 0 is padding). */
  readonly items: number;
  /** Items that occur in at least one sequence. */
  readonly itemsWithInteractions: number;
  /** Items with a metadata record (title / image URL). */
  readonly itemsWithMetadata: number;
  readonly interactions: number;
  /** interactions / (users x items). */
  readonly density: number;
  readonly sequenceLength: LengthStats;
  /** Interactions that repeat an item already in the same user's sequence. */
  readonly repeatedInteractions: number;
}

/** Statistics of a list of numbers; all NaN when it is empty. */
export function lengthStats(values: ArrayLike<number>): LengthStats {
  const n = values.length;
  if (n === 0) return { min: Number.NaN, max: Number.NaN, mean: Number.NaN, median: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mid = n >> 1;
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, max: sorted[n - 1]!, mean: sum / n, median };
}

/**
 * Counts users, items, interactions, density and sequence-length statistics. For the authors'
 * Beauty: 22,332 users, 12,086 items, 198,215 interactions, lengths 5..204, mean 8.8758, median 6.
 */
export function datasetReport(dataset: Dataset): DatasetReport {
  const lengths = new Int32Array(dataset.sequences.length);
  const seenItem = new Uint8Array(dataset.numItems + 1);
  let interactions = 0;
  let repeated = 0;
  dataset.sequences.forEach((seq, u) => {
    lengths[u] = seq.length;
    interactions += seq.length;
    repeated += seq.length - new Set(seq).size;
    for (const id of seq) seenItem[id] = 1;
  });
  let itemsWithInteractions = 0;
  for (let id = 1; id <= dataset.numItems; id++) itemsWithInteractions += seenItem[id]!;
  let itemsWithMetadata = 0;
  for (let id = 1; id < dataset.items.length; id++) if (dataset.items[id]) itemsWithMetadata++;
  const users = dataset.sequences.length;
  return {
    name: dataset.name,
    users,
    items: dataset.numItems,
    itemsWithInteractions,
    itemsWithMetadata,
    interactions,
    density: users > 0 && dataset.numItems > 0 ? interactions / (users * dataset.numItems) : 0,
    sequenceLength: lengthStats(lengths),
    repeatedInteractions: repeated,
  };
}

/** The figures of a leave-one-out split. */
export interface SplitReport {
  readonly trainPairs: number;
  /** Training pairs whose history is empty (a user's first position). */
  readonly emptyHistoryPairs: number;
  readonly validPairs: number;
  readonly testPairs: number;
  readonly trainOnlyUsers: number;
  /** History lengths of the training pairs. */
  readonly trainHistoryLength: LengthStats;
  /** History lengths of the test pairs. */
  readonly testHistoryLength: LengthStats;
}

/** Counts a split's pairs. For the authors' Beauty: 150,041 training pairs, 22,196 with an empty history. */
export function splitReport(split: LeaveOneOutSplit): SplitReport {
  let empty = 0;
  for (const e of split.train) if (e.history.length === 0) empty++;
  return {
    trainPairs: split.train.length,
    emptyHistoryPairs: empty,
    validPairs: split.valid.length,
    testPairs: split.test.length,
    trainOnlyUsers: split.trainOnlyUsers,
    trainHistoryLength: lengthStats(split.train.map((e) => e.history.length)),
    testHistoryLength: lengthStats(split.test.map((e) => e.history.length)),
  };
}

const int = (n: number): string => n.toLocaleString('en-US');
const dec = (n: number, digits = 4): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

/** Plain-text lines for a terminal or a log (a split's figures too when given). */
export function formatReport(report: DatasetReport, split?: SplitReport): string {
  const s = report.sequenceLength;
  const lines = [
    `dataset ${report.name}`,
    `  users ${int(report.users)}, items ${int(report.items)} (${int(report.itemsWithInteractions)} with interactions, ${int(report.itemsWithMetadata)} with metadata)`,
    `  interactions ${int(report.interactions)}, density ${report.density.toExponential(4)}`,
    `  sequence length min ${s.min}, max ${s.max}, mean ${dec(s.mean)}, median ${s.median}`,
  ];
  if (report.repeatedInteractions > 0)
    lines.push(`  repeated items within a user: ${int(report.repeatedInteractions)}`);
  if (split) {
    lines.push(
      `  split: train ${int(split.trainPairs)} pairs (${int(split.emptyHistoryPairs)} with empty history), ` +
        `valid ${int(split.validPairs)}, test ${int(split.testPairs)}, train-only users ${int(split.trainOnlyUsers)}`,
    );
  }
  return lines.join('\n');
}

/** One line per filter from a dataset's provenance: what each removed. */
export function formatProvenance(dataset: Dataset): string {
  const p = dataset.provenance;
  const lines = [`source: ${p.kind}`];
  for (const f of p.files) {
    lines.push(
      `  file ${f.path}${f.bytes !== undefined ? ` (${int(f.bytes)} bytes)` : ''}${f.sha256 ? ` sha256 ${f.sha256}` : ''}`,
    );
  }
  for (const f of p.filters) {
    lines.push(
      `  filter ${f.name}: removed ${int(f.removedUsers)} users, ${int(f.removedItems)} items, ` +
        `${int(f.removedInteractions)} interactions (${f.description})`,
    );
  }
  for (const n of p.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
