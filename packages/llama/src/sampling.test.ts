import { Rng } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { argmax, sampleToken, softmaxWithTemperature } from './sampling.js';

describe('sampling', () => {
  it('greedy takes the first maximum', () => {
    expect(argmax([1, 5, 5, 2])).toBe(1);
    expect(sampleToken([0, 3, 3], { temperature: 0, topP: 0.9, rng: new Rng(1) })).toBe(1);
  });

  it('is deterministic for a seed and follows the distribution', () => {
    const logits = [0, Math.log(3), -Infinity, Math.log(6)]; // p = 0.1, 0.3, 0, 0.6
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 4000 }, () => sampleToken(logits, { temperature: 1, topP: 1, rng }));
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    const freq = [0, 1, 2, 3].map((k) => a.filter((x) => x === k).length / a.length);
    expect(freq[2]).toBe(0);
    expect(Math.abs(freq[0]! - 0.1)).toBeLessThan(0.03);
    expect(Math.abs(freq[3]! - 0.6)).toBeLessThan(0.03);
  });

  it('top-p keeps only the nucleus', () => {
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
    const rng = new Rng(3);
    const seen = new Set(
      Array.from({ length: 2000 }, () => sampleToken(logits, { temperature: 1, topP: 0.7, rng })),
    );
    expect([...seen].sort()).toEqual([0, 1]);
    const tiny = new Set(
      Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 1, topP: 0.01, rng })),
    );
    expect([...tiny]).toEqual([0]);
  });

  it('temperature sharpens and flattens', () => {
    const p1 = softmaxWithTemperature([1, 2], 1);
    const pCold = softmaxWithTemperature([1, 2], 0.1);
    const pHot = softmaxWithTemperature([1, 2], 10);
    expect(pCold[1]!).toBeGreaterThan(p1[1]!);
    expect(pHot[1]!).toBeLessThan(p1[1]!);
    expect(p1[0]! + p1[1]!).toBeCloseTo(1, 12);
  });
});
