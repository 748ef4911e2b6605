import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { charWbNgrams, TfidfVectorizer, wordNgrams } from './tfidf-vectorizer.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/tfidf.json', import.meta.url), 'utf8')) as {
  corpus: string[];
  word: Record<string, number>[];
  char: Record<string, number>[];
  num_word_features: number;
  num_char_features: number;
};

describe('TF-IDF analyzers', () => {
  it('word n-grams follow scikit-learn (lowercase, tokens of >= 2 word characters, joined bigrams)', () => {
    expect(wordNgrams("L'Oréal Paris, 2 pack x", [1, 2])).toEqual([
      'oréal',
      'paris',
      'pack',
      'oréal paris',
      'paris pack',
    ]);
  });

  it('char_wb n-grams pad each word with spaces and stop at short words', () => {
    expect(charWbNgrams('Ab  cde', [3, 4])).toEqual([
      ' ab',
      'ab ',
      ' ab ',
      ' cd',
      'cde',
      'de ',
      ' cde',
      'cde ',
    ]);
    // Code points, not UTF-16 units: the star is one character.
    expect(charWbNgrams('★', [3, 3])).toEqual([' ★ ']);
    expect(charWbNgrams('a😀', [3, 3])).toEqual([' a😀', 'a😀 ']);
  });
});

describe('TfidfVectorizer', () => {
  const vec = TfidfVectorizer.fit(fixture.corpus);

  it('has the vocabulary scikit-learn builds', () => {
    const names = vec.featureNames();
    expect(names.filter((n) => n.startsWith('word:')).length).toBe(fixture.num_word_features);
    expect(names.filter((n) => n.startsWith('char_wb:')).length).toBe(fixture.num_char_features);
  });

  it('matches scikit-learn 1.2 TfidfVectorizer(sublinear_tf, l2) per block, within 1e-12', () => {
    const names = vec.featureNames();
    const x = vec.transform(fixture.corpus);
    let worst = 0;
    let checked = 0;
    for (let i = 0; i < fixture.corpus.length; i++) {
      const ours = new Map<string, number>();
      for (let p = x.ptr[i]!; p < x.ptr[i + 1]!; p++) ours.set(names[x.idx[p]!]!, x.vals[p]! * Math.SQRT2);
      const ref = { ...fixture.word[i], ...fixture.char[i] };
      expect(new Set(ours.keys())).toEqual(new Set(Object.keys(ref)));
      for (const [k, v] of Object.entries(ref)) {
        worst = Math.max(worst, Math.abs(v - ours.get(k)!));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(worst).toBeLessThan(1e-12);
  });

  it('ignores unseen n-grams and round-trips through JSON', () => {
    const again = TfidfVectorizer.fromJSON(JSON.parse(JSON.stringify(vec.toJSON())));
    const a = vec.transform(['opi nail zzzqqq']);
    const b = again.transform(['opi nail zzzqqq']);
    expect([...b.vals]).toEqual([...a.vals]);
    expect([...b.idx]).toEqual([...a.idx]);
    expect(vec.transform(['qqqq zzzz']).vals.length).toBe(0);
  });

  it('applies min_df and rejects bad settings', () => {
    const pruned = TfidfVectorizer.fit(fixture.corpus, { minDf: 2 });
    expect(pruned.numFeatures).toBeLessThan(vec.numFeatures);
    expect(() => TfidfVectorizer.fit(fixture.corpus, { wordNgrams: null, charNgrams: null })).toThrow(
      /both be null/,
    );
    expect(() => TfidfVectorizer.fit(fixture.corpus, { wordNgrams: [3, 1] })).toThrow(/min > max/);
    expect(() => TfidfVectorizer.fit([])).toThrow(/no documents/);
  });
});
