import { generateSynthetic, trainingSequences } from '@mmesid/datasets';
import { describe, expect, it } from 'vitest';
import { epochBatches } from './batches.js';

describe('epochBatches', () => {
  const data = generateSynthetic({ seed: 3, numUsers: 300, numItems: 120, maxSequenceLength: 30 });
  const seqs = trainingSequences(data);
  const opts = { batchSize: 16, maxLen: 10, negatives: 2, seed: 5, epoch: 1, bucketBatches: 4 };

  it('visits every user once per epoch, each with its last maxLen positions and valid negatives', () => {
    const batches = epochBatches(seqs, opts);
    const users = batches.flatMap((b) => Array.from(b.users)).sort((a, b) => a - b);
    expect(users).toEqual(seqs.sequences.map((s) => s.user).sort((a, b) => a - b));
    const byUser = new Map(seqs.sequences.map((s) => [s.user, s.items]));
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(10);
      for (let r = 0; r < b.size; r++) {
        const items = byUser.get(b.users[r]!)!;
        const n = Math.min(items.length - 1, 10);
        const row = Array.from(b.inputs.subarray(r * b.length, (r + 1) * b.length));
        const tgt = Array.from(b.targets.subarray(r * b.length, (r + 1) * b.length));
        // Left padding, then the last n inputs and their next items.
        expect(row.slice(0, b.length - n).every((v) => v === 0)).toBe(true);
        expect(row.slice(b.length - n)).toEqual(
          Array.from(items.subarray(items.length - 1 - n, items.length - 1)),
        );
        expect(tgt.slice(b.length - n)).toEqual(Array.from(items.subarray(items.length - n)));
        const seen = new Set(items);
        for (let c = b.length - n; c < b.length; c++) {
          for (let k = 0; k < 2; k++) {
            const neg = b.negatives[(r * b.length + c) * 2 + k]!;
            expect(neg).toBeGreaterThanOrEqual(1);
            expect(seen.has(neg)).toBe(false);
          }
        }
      }
    }
  });

  it('groups similar lengths, so batches are narrower than without bucketing', () => {
    const cells = (bs: ReturnType<typeof epochBatches>) => bs.reduce((s, b) => s + b.size * b.length, 0);
    const bucketed = cells(epochBatches(seqs, opts));
    const plain = cells(epochBatches(seqs, { ...opts, bucketBatches: 0 }));
    expect(bucketed).toBeLessThan(plain);
  });

  it('draws distinct shared negatives per batch and marks the ones a row has interacted with', () => {
    const batches = epochBatches(seqs, { ...opts, negatives: 0, sharedNegatives: 20 });
    const byUser = new Map(seqs.sequences.map((s) => [s.user, new Set(s.items)]));
    let marked = 0;
    for (const b of batches) {
      const ids = Array.from(b.shared!.ids);
      expect(new Set(ids).size).toBe(20);
      expect(ids.every((i) => i >= 1 && i <= data.numItems)).toBe(true);
      for (let r = 0; r < b.size; r++) {
        const seen = byUser.get(b.users[r]!)!;
        for (let k = 0; k < 20; k++) {
          expect(b.shared!.excluded[r * 20 + k]).toBe(seen.has(ids[k]!) ? 1 : 0);
          marked += b.shared!.excluded[r * 20 + k]!;
        }
      }
    }
    expect(marked).toBeGreaterThan(0);
  });

  it('is deterministic in (seed, epoch) and changes with the epoch', () => {
    const a = epochBatches(seqs, opts);
    const b = epochBatches(seqs, opts);
    const c = epochBatches(seqs, { ...opts, epoch: 2 });
    expect(a.map((x) => Array.from(x.negatives))).toEqual(b.map((x) => Array.from(x.negatives)));
    expect(a.map((x) => Array.from(x.users))).not.toEqual(c.map((x) => Array.from(x.users)));
  });
});
