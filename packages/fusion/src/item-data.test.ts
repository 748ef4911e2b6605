import { describe, expect, it } from 'vitest';
import { checkItemTables, frequencyFeature, randomSemanticIds, semanticIdsFromExport } from './item-data.js';

describe('semanticIdsFromExport', () => {
  const exp = (firstItemId: number, rows: number) => ({
    config: { firstItemId, rows },
    modalities: {
      collaborative: {
        ids: Int32Array.from({ length: rows * 2 }, (_, i) => i % 4),
        codebooks: new Float32Array(2 * 4 * 3),
        rows,
        levels: 2,
        codebookSize: 4,
        dim: 3,
      },
    },
  });

  it('re-indexes export rows (item firstItemId + r) by item id, padding row 0 zero', () => {
    const s = semanticIdsFromExport(exp(1, 3), 3).collaborative!;
    expect(Array.from(s.ids)).toEqual([0, 0, 0, 1, 2, 3, 0, 1]);
    const s0 = semanticIdsFromExport(exp(0, 4), 3).collaborative!; // an export that kept the padding row
    expect(Array.from(s0.ids)).toEqual([0, 0, 2, 3, 0, 1, 2, 3]); // row 0 is zeroed, never copied
  });

  it('refuses an export that does not cover every item', () => {
    expect(() => semanticIdsFromExport(exp(1, 2), 3)).toThrow(/cover items 1..2/);
  });
});

describe('randomSemanticIds', () => {
  it('is seeded, in range, and differs per modality', () => {
    const a = randomSemanticIds(['x', 'y'], 50, { levels: 3, codebookSize: 5, dim: 4, seed: 1 });
    const b = randomSemanticIds(['x', 'y'], 50, { levels: 3, codebookSize: 5, dim: 4, seed: 1 });
    expect(a.x!.ids).toEqual(b.x!.ids);
    expect(a.x!.ids).not.toEqual(a.y!.ids);
    expect(Array.from(a.x!.ids.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Math.max(...a.x!.ids)).toBeLessThan(5);
    expect(a.x!.codebooks).toBeUndefined();
  });
});

describe('frequencyFeature and checkItemTables', () => {
  it('min-max normalises log(1 + f) over items 1..N', () => {
    const f = frequencyFeature([0, 0, 3, 1], 3);
    expect(f[0]).toBe(0);
    expect(f[1]).toBe(0);
    expect(f[2]).toBeCloseTo(1, 6);
    expect(f[3]).toBeCloseTo(Math.log(2) / Math.log(4), 6);
    expect(() => frequencyFeature([0, 1], 3)).toThrow(/expected numItems \+ 1 = 4/);
  });

  it('names the table that is wrong', () => {
    const good = { rows: 4, cols: 2, data: new Float32Array(8) };
    expect(() => checkItemTables({ text: good }, ['text'], 3)).not.toThrow();
    expect(() => checkItemTables({ text: good }, ['visual'], 3)).toThrow(/"visual"/);
    expect(() =>
      checkItemTables({ text: { ...good, rows: 3, data: new Float32Array(6) } }, ['text'], 3),
    ).toThrow(/numItems \+ 1 = 4/);
    const nan = new Float32Array(8);
    nan[5] = Number.NaN;
    expect(() => checkItemTables({ text: { ...good, data: nan } }, ['text'], 3)).toThrow(/item 2, column 1/);
  });
});
