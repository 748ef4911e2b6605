import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VariantResult } from './report.js';
import { attachSampleMetrics, loadRanks, metricsOfUsers, saveRanks, sharedSample } from './same-users.js';

// Six users' 1-based ranks; the sample is users 1, 3, 4 (ranks 5, 2, 11).
const ranks = Int32Array.from([1, 5, 30, 2, 11, 3]);
const indices = [1, 3, 4];
const g = (r: number) => 1 / Math.log2(r + 1);

describe('rows compared on the same test users', () => {
  it('metrics of a subset of the users, by hand', () => {
    const m = metricsOfUsers(ranks, indices);
    expect(m['HR@5']).toBeCloseTo(2 / 3, 12); // ranks 5 and 2
    expect(m['HR@10']).toBeCloseTo(2 / 3, 12);
    expect(m['HR@20']).toBeCloseTo(1, 12); // and 11
    expect(m['NDCG@5']).toBeCloseTo((g(5) + g(2)) / 3, 12);
    expect(m['NDCG@20']).toBeCloseTo((g(5) + g(2) + g(11)) / 3, 12);
    // All six users: a different figure (user 0 at rank 1, user 2 at 30).
    expect(metricsOfUsers(ranks, [0, 1, 2, 3, 4, 5])['HR@5']).toBeCloseTo(4 / 6, 12);
    expect(() => metricsOfUsers(ranks, [6])).toThrow(/user index 6 outside the 6 ranked users/);
  });

  it('saves and reads ranks; a missing file is undefined, a bad one an error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ranks-'));
    try {
      const f = join(dir, 'test-ranks.i32');
      saveRanks(f, ranks);
      expect(loadRanks(f)).toEqual(ranks);
      expect(loadRanks(join(dir, 'absent.i32'))).toBeUndefined();
      writeFileSync(f, new Uint8Array(7));
      expect(() => loadRanks(f)).toThrow(/test-ranks\.i32: 7 bytes/);
      writeFileSync(f, new Uint8Array(8));
      expect(() => loadRanks(f)).toThrow(/rank 0 is 0/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("gives each full-ranking row with ranks its metrics on the sampled rows' users", () => {
    const sample = { users: 3, of: 6, seed: 's' };
    const rows: VariantResult[] = [
      { variant: 'SASRec', metrics: { 'HR@5': 0.1 } },
      { variant: 'Popularity', metrics: { 'HR@5': 0.05 } },
      { variant: 'MME-SID', metrics: { 'HR@5': 0.2 } },
      { variant: 'TIGER-MM', metrics: { 'HR@5': 0.3 }, sample },
    ];
    const other = Int32Array.from([40, 1, 1, 40, 40, 1]); // sample: 1, 40, 40
    const missing = attachSampleMetrics(rows, sample, indices, (v) =>
      v === 'SASRec' ? ranks : v === 'MME-SID' ? other : undefined,
    );
    expect(missing).toEqual(['Popularity']);
    expect(rows[0]!.onSample).toMatchObject({ users: 3, of: 6 });
    expect(rows[0]!.onSample!.metrics['HR@5']).toBeCloseTo(2 / 3, 12);
    expect(rows[2]!.onSample!.metrics['HR@5']).toBeCloseTo(1 / 3, 12);
    expect(rows[2]!.onSample!.metrics['NDCG@20']).toBeCloseTo(1 / 3, 12); // g(1) / 3
    expect(rows[1]!.onSample).toBeUndefined();
    expect(rows[3]!.onSample).toBeUndefined(); // the sampled row is already on these users
    expect(rows[2]!.metrics['HR@5']).toBe(0.2); // the all-users figure is kept
    expect(() => attachSampleMetrics(rows, sample, indices, () => Int32Array.from([1, 2]))).toThrow(
      /2 per-user ranks, the test split has 6 users/,
    );
  });

  it('refuses rows on different samples', () => {
    const a: VariantResult = { variant: 'A', metrics: {}, sample: { users: 3, of: 6, seed: 's' } };
    expect(sharedSample([{ variant: 'X', metrics: {} }, a, { ...a, variant: 'B' }])).toEqual(a.sample);
    expect(sharedSample([{ variant: 'X', metrics: {} }])).toBeUndefined();
    expect(() => sharedSample([a, { ...a, variant: 'B', sample: { users: 4, of: 6, seed: 's' } }])).toThrow(
      /different user samples/,
    );
  });
});
