import { Rng } from '@mmesid/core';
import { describe, expect, it } from 'vitest';
import { batchCount, exampleBatches, sequenceBatches } from './batching.js';
import { ConfigError } from './errors.js';
import { sampleNegatives } from './negatives.js';
import { padSequences } from './padding.js';
import { leaveOneOut, trainingSequences } from './split.js';
import { generateSynthetic } from './synthetic.js';

describe('padSequences', () => {
  it('pads left or right with a mask, keeping the most recent items when truncating', () => {
    const left = padSequences([[5, 6, 7], [8], []], { side: 'left' });
    expect([left.rows, left.cols]).toEqual([3, 3]);
    expect(Array.from(left.ids)).toEqual([5, 6, 7, 0, 0, 8, 0, 0, 0]);
    expect(Array.from(left.mask)).toEqual([1, 1, 1, 0, 0, 1, 0, 0, 0]);
    expect(Array.from(left.lengths)).toEqual([3, 1, 0]);
    const right = padSequences([[5, 6, 7], [8]], { side: 'right', maxLength: 2, padId: -1 });
    expect(Array.from(right.ids)).toEqual([6, 7, 8, -1]);
    expect(Array.from(right.mask)).toEqual([1, 1, 1, 0]);
  });

  it('honours minLength (the authors use 2) and a fixed length', () => {
    expect(padSequences([[], [4]], { minLength: 2 }).cols).toBe(2);
    expect(padSequences([[1]], { length: 4 }).ids).toEqual(Int32Array.from([0, 0, 0, 1]));
    expect(() => padSequences([[1, 2, 3]], { length: 2 })).toThrow(RangeError);
    expect(() => padSequences([[1]], { side: 'middle' as 'left' })).toThrow(ConfigError);
  });
});

describe('sampleNegatives', () => {
  it('never returns padding, the positive or (if asked) a history item', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 200; trial++) {
      const history = [1 + rng.int(20), 1 + rng.int(20), 1 + rng.int(20)];
      const positive = 1 + rng.int(20);
      const neg = sampleNegatives(rng, positive, { numItems: 20, count: 10, exclude: history });
      for (const n of neg) {
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(20);
        expect(n).not.toBe(positive);
        expect(history).not.toContain(n);
      }
    }
  });

  it('falls back to the allowed list when almost everything is excluded, and fails when nothing is left', () => {
    const rng = new Rng(2);
    const exclude = Array.from({ length: 97 }, (_, i) => i + 1); // leaves 98, 99 and 100 minus the positive
    const neg = sampleNegatives(rng, 100, { numItems: 100, count: 50, exclude });
    expect(new Set(neg)).toEqual(new Set([98, 99]));
    const uniq = sampleNegatives(rng, 100, { numItems: 100, count: 2, exclude, unique: true });
    expect([...uniq].sort()).toEqual([98, 99]);
    expect(() => sampleNegatives(rng, 100, { numItems: 100, count: 3, exclude, unique: true })).toThrow(
      RangeError,
    );
    expect(() => sampleNegatives(rng, 1, { numItems: 1, count: 1 })).toThrow(/only 0 of 1/);
  });

  it('is uniform over the allowed items', () => {
    const rng = new Rng(3);
    const counts = new Array(11).fill(0);
    for (let i = 0; i < 20_000; i++)
      for (const n of sampleNegatives(rng, 5, { numItems: 10, count: 1 })) counts[n]++;
    expect(counts[0]).toBe(0);
    expect(counts[5]).toBe(0);
    for (const id of [1, 2, 3, 4, 6, 7, 8, 9, 10]) expect(counts[id] / 20_000).toBeCloseTo(1 / 9, 1);
  });
});

describe('exampleBatches', () => {
  const data = generateSynthetic({ seed: 1, numUsers: 120, numItems: 80 });
  const split = leaveOneOut(data);

  it('visits every example once per epoch, shuffled by seed and epoch', () => {
    const seen = (epoch: number) => [...exampleBatches(split.train, { batchSize: 32, seed: 5, epoch })];
    const e0 = seen(0);
    expect(e0).toHaveLength(batchCount(split.train.length, 32));
    const all = e0.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b);
    expect(all).toEqual(split.train.map((_, i) => i));
    expect(seen(0).map((b) => Array.from(b.indices))).toEqual(e0.map((b) => Array.from(b.indices)));
    expect(seen(1)[0]!.indices).not.toEqual(e0[0]!.indices);
    const ordered = [...exampleBatches(split.train, { batchSize: 32, shuffle: false })];
    expect(Array.from(ordered[0]!.indices.subarray(0, 3))).toEqual([0, 1, 2]);
    expect([...exampleBatches(split.train, { batchSize: 32, dropLast: true })]).toHaveLength(
      batchCount(split.train.length, 32, true),
    );
  });

  it('pads histories on the left with the authors’ minimum length 2 and aligns targets and negatives', () => {
    const [b] = exampleBatches(split.train, {
      batchSize: 16,
      seed: 2,
      minLength: 2,
      negatives: 3,
      numItems: data.numItems,
    });
    expect(b!.history.cols).toBeGreaterThanOrEqual(2);
    for (let r = 0; r < b!.size; r++) {
      const e = split.train[b!.indices[r]!]!;
      expect(b!.targets[r]).toBe(e.target);
      expect(b!.users[r]).toBe(e.user);
      const row = Array.from(b!.history.ids.subarray(r * b!.history.cols, (r + 1) * b!.history.cols));
      expect(row.filter((x) => x !== 0)).toEqual(Array.from(e.history));
      if (e.history.length > 0) expect(row.at(-1)).toBe(e.history.at(-1));
      for (const n of b!.negatives.subarray(r * 3, r * 3 + 3)) {
        expect(n).not.toBe(e.target);
        expect(Array.from(e.history)).not.toContain(n);
        expect(n).toBeGreaterThan(0);
      }
    }
    expect(() => [...exampleBatches(split.train, { negatives: 1 })]).toThrow(/numItems is required/);
  });
});

describe('sequenceBatches (SASRec all positions)', () => {
  const data = generateSynthetic({ seed: 1, numUsers: 60, numItems: 80 });
  const training = trainingSequences(data);

  it('shifts inputs and targets, keeps the last maxLength positions, pads left by default', () => {
    const batches = [...sequenceBatches(training, { batchSize: 8, maxLength: 6, seed: 1, shuffle: false })];
    expect(batches).toHaveLength(Math.ceil(training.sequences.length / 8));
    const b = batches[0]!;
    expect(b.length).toBe(6);
    for (let r = 0; r < b.size; r++) {
      const items = training.sequences[r]!.items;
      const positions = Math.min(items.length - 1, 6);
      const inputs = Array.from(b.inputs.subarray(r * 6, (r + 1) * 6));
      const targets = Array.from(b.targets.subarray(r * 6, (r + 1) * 6));
      const mask = Array.from(b.mask.subarray(r * 6, (r + 1) * 6));
      expect(inputs.slice(6 - positions)).toEqual(
        Array.from(items.subarray(items.length - 1 - positions, -1)),
      );
      expect(targets.slice(6 - positions)).toEqual(Array.from(items.subarray(items.length - positions)));
      expect(mask).toEqual([...new Array(6 - positions).fill(0), ...new Array(positions).fill(1)]);
      for (let p = 0; p < 6; p++) {
        const neg = b.negatives[r * 6 + p]!;
        if (mask[p] === 0) expect(neg).toBe(0);
        else {
          expect(neg).toBeGreaterThan(0);
          expect(Array.from(items)).not.toContain(neg);
        }
      }
    }
  });

  it('is reproducible, pads right on request and can size to the longest row', () => {
    const a = [...sequenceBatches(training, { batchSize: 8, seed: 3, epoch: 2 })];
    const b = [...sequenceBatches(training, { batchSize: 8, seed: 3, epoch: 2 })];
    expect(a.map((x) => x.negatives)).toEqual(b.map((x) => x.negatives));
    expect(a[0]!.length).toBe(50);
    const [r] = sequenceBatches(training, {
      batchSize: 4,
      padSide: 'right',
      width: 'longest',
      shuffle: false,
    });
    const longest = Math.max(...training.sequences.slice(0, 4).map((s) => s.items.length - 1));
    expect(r!.length).toBe(Math.min(50, longest));
    expect(r!.mask[0]).toBe(1);
  });
});
