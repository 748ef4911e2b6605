import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { itemFrequency, leaveOneOut, normalizedLogFrequency, trainingSequences } from './split.js';

const data = (...seqs: number[][]) => ({
  sequences: seqs.map((s) => Int32Array.from(s)),
  numItems: Math.max(...seqs.flat()),
});
const pairs = (xs: readonly { user: number; history: Int32Array; target: number }[]) =>
  xs.map((e) => [e.user, Array.from(e.history), e.target]);

describe('leaveOneOut (the authors’ split)', () => {
  it('holds out the last two items and trains on every earlier position with the full prefix', () => {
    const s = leaveOneOut(data([1, 2, 3, 4, 5], [6, 7, 8]));
    expect(pairs(s.test)).toEqual([
      [0, [1, 2, 3, 4], 5],
      [1, [6, 7], 8],
    ]);
    expect(pairs(s.valid)).toEqual([
      [0, [1, 2, 3], 4],
      [1, [6], 7],
    ]);
    expect(pairs(s.train)).toEqual([
      [0, [], 1],
      [0, [1], 2],
      [0, [1, 2], 3],
      [1, [], 6],
    ]);
    expect(s.trainOnlyUsers).toBe(0);
  });

  it('trains users with fewer than 3 items on every position, with no valid or test pair', () => {
    const s = leaveOneOut(data([1, 2], [3], [4, 5, 6]));
    expect(pairs(s.train)).toEqual([
      [0, [], 1],
      [0, [1], 2],
      [1, [], 3],
      [2, [], 4],
    ]);
    expect(s.valid.map((e) => e.user)).toEqual([2]);
    expect(s.test.map((e) => e.user)).toEqual([2]);
    expect(s.trainOnlyUsers).toBe(2);
  });

  it('caps the number of targets at the last maxTargetsPerUser positions, not the history', () => {
    const seq = Array.from({ length: 60 }, (_, i) => i + 1);
    const s = leaveOneOut(data(seq));
    expect(s.train).toHaveLength(50); // training part has 58 items: its last 50 positions
    expect(s.train[0]!.target).toBe(9);
    expect(s.train[0]!.history).toHaveLength(8); // the whole prefix, not truncated
    expect(s.test[0]!.history).toHaveLength(59);
    const small = leaveOneOut(data(seq), { maxTargetsPerUser: 3 });
    expect(small.train.map((e) => e.target)).toEqual([56, 57, 58]);
  });

  it('truncates every history to maxHistory when asked', () => {
    const seq = Array.from({ length: 60 }, (_, i) => i + 1);
    const s = leaveOneOut(data(seq), { maxHistory: 5 });
    expect(Array.from(s.test[0]!.history)).toEqual([55, 56, 57, 58, 59]);
    expect(Array.from(s.valid[0]!.history)).toEqual([54, 55, 56, 57, 58]);
    expect(Array.from(s.train[0]!.history)).toEqual([4, 5, 6, 7, 8]);
    expect(Array.from(s.train.at(-1)!.history)).toEqual([53, 54, 55, 56, 57]);
    expect(s.train).toHaveLength(50);
    expect(() => leaveOneOut(data(seq), { maxHistory: 0 })).toThrow(ConfigError);
  });

  it('shares memory with the dataset instead of copying histories', () => {
    const d = data([1, 2, 3, 4]);
    const s = leaveOneOut(d);
    expect(s.test[0]!.history.buffer).toBe(d.sequences[0]!.buffer);
  });
});

describe('trainingSequences (all positions)', () => {
  it('gives each user’s training part and counts users with nothing to predict', () => {
    const t = trainingSequences(data([1, 2, 3, 4, 5], [6, 7, 8], [9, 10], [11]));
    expect(t.sequences.map((s) => [s.user, Array.from(s.items)])).toEqual([
      [0, [1, 2, 3]],
      [2, [9, 10]],
    ]);
    expect(t.usersWithoutTargets).toBe(2);
  });
});

describe('item frequency', () => {
  it('counts training targets and min-max normalises log(1 + f) over real items', () => {
    const s = leaveOneOut(data([1, 2, 3, 4, 5], [1, 2, 6, 7], [1, 3, 3, 8]));
    const f = itemFrequency(s.train, 8);
    expect(Array.from(f)).toEqual([0, 3, 2, 2, 0, 0, 0, 0, 0]);
    const feat = normalizedLogFrequency(f);
    expect(feat[0]).toBe(0);
    expect(feat[1]).toBeCloseTo(1, 6);
    expect(feat[2]).toBeCloseTo(Math.log(3) / Math.log(4), 6);
    expect(feat[4]).toBe(0);
    expect(Array.from(normalizedLogFrequency([0, 5, 5]))).toEqual([0, 0, 0]);
    expect(() => itemFrequency([{ target: 9 }], 8)).toThrow(RangeError);
  });
});
