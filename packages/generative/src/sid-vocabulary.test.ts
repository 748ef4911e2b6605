import { describe, expect, it } from 'vitest';
import { SidCollisionError, SidVocabularyMismatchError } from './errors.js';
import { SidTrie } from './sid-trie.js';
import { DISAMBIGUATION_SEGMENT, type SidSegmentCodes, SidVocabulary } from './sid-vocabulary.js';

/** (numItems + 1) x levels with a zero padding row. */
function codes(rows: number[][], K: number): SidSegmentCodes {
  const L = rows[0]!.length;
  return { ids: Int32Array.from([...new Array(L).fill(0), ...rows.flat()]), levels: L, codebookSize: K };
}

describe('SidVocabulary', () => {
  const text = codes(
    [
      [0, 1],
      [2, 3],
      [0, 1], // collides with item 1
      [1, 1],
      [0, 1], // collides with items 1 and 3
    ],
    4,
  );

  it('gives each (level, code) its own token: offsets are cumulative codebook sizes', () => {
    const v = SidVocabulary.build({ text }, { disambiguation: 'auto' });
    expect(v.slots.map((s) => [s.segment, s.level, s.offset, s.size])).toEqual([
      ['text', 0, 0, 4],
      ['text', 1, 4, 4],
      [DISAMBIGUATION_SEGMENT, 0, 8, 3],
    ]);
    expect(v.size).toBe(11);
    expect(Array.from(v.target(2))).toEqual([2, 4 + 3, 8 + 0]);
    // TIGER: items sharing all codes get 0..n-1 in item order.
    expect(Array.from(v.target(1))).toEqual([0, 5, 8]);
    expect(Array.from(v.target(3))).toEqual([0, 5, 9]);
    expect(Array.from(v.target(5))).toEqual([0, 5, 10]);
    expect(v.collisions).toEqual({
      items: 5,
      distinctSequences: 3,
      collidingGroups: 1,
      collidingItems: 3,
      maxGroupSize: 3,
      disambiguationSize: 3,
    });
    expect(v.slotOf(9)).toMatchObject({ segment: DISAMBIGUATION_SEGMENT });
    expect(v.slotOf(4)).toMatchObject({ segment: 'text', level: 1 });
  });

  it('every target sequence is unique after disambiguation, and the trie holds each once', () => {
    const v = SidVocabulary.build({ text });
    const seen = new Set<string>();
    for (let i = 1; i <= v.numItems; i++) seen.add(Array.from(v.target(i)).join(','));
    expect(seen.size).toBe(v.numItems);
    const trie = SidTrie.fromVocabulary(v);
    expect(trie.itemCount(trie.root)).toBe(5);
  });

  it("'none' refuses duplicate sequences, naming both items and their codes", () => {
    expect(() => SidVocabulary.build({ text }, { disambiguation: 'none' })).toThrow(SidCollisionError);
    expect(() => SidVocabulary.build({ text }, { disambiguation: 'none' })).toThrow(
      /items 1 and 3 share every code \(0, 1\)/,
    );
  });

  it("'auto' adds no level without collisions; 'always' adds one of size 1", () => {
    const clean = codes(
      [
        [0, 1],
        [1, 0],
        [2, 2],
      ],
      3,
    );
    expect(SidVocabulary.build({ c: clean }).targetLength).toBe(2);
    const a = SidVocabulary.build({ c: clean }, { disambiguation: 'always' });
    expect(a.targetLength).toBe(3);
    expect(a.collisions.disambiguationSize).toBe(1);
  });

  it('multi-modal: history concatenates segments, the target can be one segment', () => {
    const img = codes([[1], [1], [0], [2], [3]], 4);
    const v = SidVocabulary.build({ text, img }, { target: ['img'] });
    // text: 2 levels x 4 (offsets 0, 4); img: 1 level x 4 (offset 8); collisions counted on img: items 1, 2 share code 1.
    expect(v.collisions.collidingItems).toBe(2);
    expect(Array.from(v.historyTokens(2))).toEqual([2, 7, 9, 12 + 1]);
    expect(Array.from(v.target(2))).toEqual([9, 13]);
    expect(v.historyLength).toBe(4);
    const all = SidVocabulary.build({ text, img });
    expect(all.collisions.collidingItems).toBe(0); // (0,1,1), (0,1,0), (0,1,3) differ on img
    expect(Array.from(all.target(3))).toEqual([0, 5, 8]);
  });

  it('rejects codes out of range and segments of different lengths', () => {
    expect(() => SidVocabulary.build({ t: codes([[0, 4]], 4) })).toThrow(
      /item 1 level 1 has code 4, outside 0..3/,
    );
    expect(() => SidVocabulary.build({ a: text, b: codes([[0]], 2) })).toThrow(
      /"b" has 2 rows but "a" has 6/,
    );
    expect(() => SidVocabulary.build({ text }, { target: ['image'] })).toThrow(/"image", not one of text/);
  });

  it('a saved spec that differs is refused with both sides named', () => {
    const v = SidVocabulary.build({ text });
    expect(() => v.assertMatches(v.spec(), 'ckpt')).not.toThrow();
    const other = SidVocabulary.build({
      text: codes(
        [
          [0, 1],
          [2, 3],
          [0, 2],
          [1, 1],
          [0, 3],
        ],
        4,
      ),
    });
    expect(() => other.assertMatches(v.spec(), 'checkpoint a/b')).toThrow(SidVocabularyMismatchError);
    expect(() => other.assertMatches(v.spec(), 'checkpoint a/b')).toThrow(
      /disambiguationSize: checkpoint a\/b has 3, the semantic-ID tokenizer gives 0/,
    );
    // Same shapes, different codes: only the fingerprint differs.
    const swapped = SidVocabulary.build({
      text: codes(
        [
          [2, 3],
          [0, 1],
          [0, 1],
          [1, 1],
          [0, 1],
        ],
        4,
      ),
    });
    expect(() => swapped.assertMatches(v.spec(), 'ckpt')).toThrow(/fingerprint/);
  });
});

describe('SidTrie', () => {
  it('children follow existing sequences only; leaves are items; blocked counts hide subtrees', () => {
    const trie = new SidTrie([[], [0, 1], [0, 2], [1, 1]]);
    expect(trie.depth).toBe(2);
    expect(trie.children(trie.root).map(([t]) => t)).toEqual([0, 1]);
    const n0 = trie.child(trie.root, 0)!;
    expect(trie.itemCount(n0)).toBe(2);
    expect(trie.item(trie.child(n0, 2)!)).toBe(2);
    expect(trie.child(n0, 3)).toBeUndefined();
    const blocked = trie.blockedCounts([1, 2, 0, 2, 99]);
    expect(blocked.get(n0)).toBe(2);
    expect(blocked.get(trie.root)).toBe(2);
  });

  it('refuses equal sequences and ragged lengths', () => {
    expect(() => new SidTrie([[], [0, 1], [0, 1]])).toThrow(/items 1 and 2 share every code/);
    expect(() => new SidTrie([[], [0, 1], [0]])).toThrow(/item 2 has 1 tokens, item 1 has 2/);
  });
});
