// Comparing rows on the same test users. The semantic-ID baselines decode a fixed seeded sample of
// the test users (beam search is slow on a CPU) while every full-ranking row ranks all of them; the
// full-ranking stages save each user's rank, and the report restricts them to the sample, so that
// every comparison with a sampled row (tables, paired t-tests of the study) is on the same users.
import { existsSync, readFileSync } from 'node:fs';
import { flattenRankingMetrics, metricsFromRanks } from '@mmesid/metrics';
import { writeFileAtomic } from '../cache.js';
import type { VariantResult } from './report.js';

/** A stage's per-test-user ranks: int32 little-endian, 1-based, in the order of `leaveOneOut(dataset).test`. */
export const TEST_RANKS_FILE = 'test-ranks.i32';
/** The popularity baseline's, beside SASRec's in the SASRec stage. */
export const POPULARITY_RANKS_FILE = 'popularity-test-ranks.i32';

/** Writes per-user ranks (temp file + rename). */
export function saveRanks(file: string, ranks: Int32Array): void {
  const bytes = new Uint8Array(ranks.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < ranks.length; i++) view.setInt32(i * 4, ranks[i]!, true);
  writeFileAtomic(file, bytes);
}

/** Reads ranks written by {@link saveRanks}; undefined when the file is absent (a stage that ran before ranks were saved). */
export function loadRanks(file: string): Int32Array | undefined {
  if (!existsSync(file)) return undefined;
  const buf = readFileSync(file);
  if (buf.length % 4 !== 0)
    throw new Error(`${file}: ${buf.length} bytes is not a whole number of int32 ranks`);
  const out = new Int32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) {
    const r = buf.readInt32LE(i * 4);
    if (r < 1) throw new Error(`${file}: rank ${i} is ${r}; ranks are 1-based`);
    out[i] = r;
  }
  return out;
}

/** HR/NDCG/MRR@k (flattened, "HR@10" ...) of the users at `indices` only. */
export function metricsOfUsers(ranks: Int32Array, indices: readonly number[]): Record<string, number> {
  const sub = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (!(Number.isInteger(i) && i >= 0 && i < ranks.length))
      throw new Error(`metricsOfUsers: user index ${i} outside the ${ranks.length} ranked users`);
    sub[j] = ranks[i]!;
  }
  return flattenRankingMetrics(metricsFromRanks(sub));
}

/**
 * The sample the sampled rows share: every row with `sample` must name the same one (the stage
 * draws it from the test split with a fixed seed, so rows of one run always agree). Throws when two
 * rows disagree: comparing them would again mix user sets.
 */
export function sharedSample(rows: readonly VariantResult[]): VariantResult['sample'] {
  let s: VariantResult['sample'];
  for (const r of rows) {
    if (!r.sample) continue;
    if (s && (s.users !== r.sample.users || s.of !== r.sample.of || s.seed !== r.sample.seed))
      throw new Error(
        `rows evaluated on different user samples: ${JSON.stringify(s)} and ${r.variant}'s ${JSON.stringify(r.sample)}`,
      );
    s = r.sample;
  }
  return s;
}

/**
 * Gives each full-ranking row that has per-user ranks (`ranksOf`) its metrics on the sampled rows'
 * users (`onSample`); `indices` are those users' positions in the test split. Returns the rows
 * without ranks (left without `onSample`, so they cannot be compared on the same users).
 */
export function attachSampleMetrics(
  rows: VariantResult[],
  sample: NonNullable<VariantResult['sample']>,
  indices: readonly number[],
  ranksOf: (variant: string) => Int32Array | undefined,
): string[] {
  if (indices.length !== sample.users)
    throw new Error(`attachSampleMetrics: ${indices.length} indices for a sample of ${sample.users} users`);
  const missing: string[] = [];
  for (const r of rows) {
    if (r.sample) continue;
    const ranks = ranksOf(r.variant);
    if (!ranks) {
      missing.push(r.variant);
      continue;
    }
    if (ranks.length !== sample.of)
      throw new Error(`${r.variant}: ${ranks.length} per-user ranks, the test split has ${sample.of} users`);
    r.onSample = { users: sample.users, of: sample.of, metrics: metricsOfUsers(ranks, indices) };
  }
  return missing;
}
