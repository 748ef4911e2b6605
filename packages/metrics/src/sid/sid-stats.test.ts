import { readFileSync } from 'node:fs';
import { ConfigError, ShapeError } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { MetricsInputError } from '../errors.js';
import { semanticIdStats } from './sid-stats.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/sid.json', import.meta.url), 'utf8')) as {
  cases: {
    name: string;
    rows: number;
    levels: number;
    codebookSize: number;
    codes: number[];
    distinctIds: number;
    collidingItems: number;
    collisionRate: number;
    duplicateRate: number;
    maxBucketSize: number;
    perLevel: { usedCodes: number; usage: number; entropy: number; perplexity: number }[];
  }[];
};

describe('semantic-ID statistics', () => {
  it('match numpy (fixtures/make_sid.py), with numeric and string tuple keys', () => {
    for (const c of fixture.cases) {
      const s = semanticIdStats(
        { rows: c.rows, levels: c.levels, data: Int32Array.from(c.codes) },
        c.codebookSize,
      );
      expect(s, c.name).toMatchObject({
        items: c.rows,
        distinctIds: c.distinctIds,
        collidingItems: c.collidingItems,
        maxBucketSize: c.maxBucketSize,
      });
      expect(s.collisionRate).toBeCloseTo(c.collisionRate, 14);
      expect(s.duplicateRate).toBeCloseTo(c.duplicateRate, 14);
      c.perLevel.forEach((l, i) => {
        expect(s.perLevel[i]!.usedCodes).toBe(l.usedCodes);
        expect(s.perLevel[i]!.usage).toBeCloseTo(l.usage, 14);
        expect(s.perLevel[i]!.entropy).toBeCloseTo(l.entropy, 12);
        expect(Math.abs(s.perLevel[i]!.perplexity - l.perplexity) / l.perplexity).toBeLessThan(1e-13);
      });
    }
  });

  it('gives perplexity K for a uniform level and 1 for a constant one', () => {
    const data = new Int32Array(16 * 2);
    for (let i = 0; i < 16; i++) data[i * 2] = i % 8;
    const s = semanticIdStats({ rows: 16, levels: 2, data }, 8);
    expect(s.perLevel[0]!.perplexity).toBeCloseTo(8, 12);
    expect(s.perLevel[1]!.perplexity).toBe(1);
    expect(s.perLevel[1]!.usage).toBe(1 / 8);
    expect(s).toMatchObject({ distinctIds: 8, collidingItems: 16, collisionRate: 1, maxBucketSize: 2 });
  });

  it('rejects codes outside the codebook and inconsistent shapes', () => {
    expect(() => semanticIdStats({ rows: 2, levels: 2, data: Int32Array.of(0, 1, 2, 8) }, 8)).toThrow(
      /item 1 level 1 has code 8; codes must be in 0..7/,
    );
    expect(() => semanticIdStats({ rows: 2, levels: 2, data: Int32Array.of(0, -1, 2, 3) }, 8)).toThrow(
      MetricsInputError,
    );
    expect(() => semanticIdStats({ rows: 2, levels: 2, data: Int32Array.of(0, 1, 2) }, 8)).toThrow(
      ShapeError,
    );
    expect(() => semanticIdStats({ rows: 2, levels: 2, data: Int32Array.of(0, 1, 2, 3) }, 0)).toThrow(
      ConfigError,
    );
  });
});
