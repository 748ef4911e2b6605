import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { datasetReport } from './report.js';
import { type Example, itemFrequency, leaveOneOut, trainingSequences } from './split.js';
import { generateSynthetic, SYNTHETIC_DEFAULTS, SyntheticConfigSchema } from './synthetic.js';

/** HR@k and nDCG@k of a scorer under full ranking with history excluded; ties count against the target. */
function evaluate(
  examples: readonly Example[],
  numItems: number,
  score: (e: Example) => Float64Array,
  k = 10,
) {
  let hr = 0;
  let ndcg = 0;
  for (const e of examples) {
    const s = score(e);
    const banned = new Set(e.history);
    const t = s[e.target]!;
    let rank = 1;
    for (let j = 1; j <= numItems; j++) {
      if (j === e.target || banned.has(j)) continue;
      if (s[j]! >= t) rank++;
    }
    if (rank <= k) {
      hr++;
      ndcg += 1 / Math.log2(rank + 1);
    }
  }
  return { hr: hr / examples.length, ndcg: ndcg / examples.length };
}

describe('generateSynthetic', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateSynthetic({ seed: 3, numUsers: 50, numItems: 60 });
    const b = generateSynthetic({ seed: 3, numUsers: 50, numItems: 60 });
    const c = generateSynthetic({ seed: 4, numUsers: 50, numItems: 60 });
    expect(a.sequences).toEqual(b.sequences);
    expect(a.items).toEqual(b.items);
    expect(a.visual.data).toEqual(b.visual.data);
    expect(c.sequences).not.toEqual(a.sequences);
  });

  it('has the requested shape, valid ids, no repeats and real-looking metadata', () => {
    const d = generateSynthetic();
    const r = datasetReport(d);
    expect(r.users).toBe(SYNTHETIC_DEFAULTS.numUsers);
    expect(r.items).toBe(SYNTHETIC_DEFAULTS.numItems);
    expect(r.repeatedInteractions).toBe(0);
    expect(r.sequenceLength.min).toBeGreaterThanOrEqual(SYNTHETIC_DEFAULTS.minSequenceLength);
    expect(r.sequenceLength.max).toBeLessThanOrEqual(SYNTHETIC_DEFAULTS.maxSequenceLength);
    expect(r.sequenceLength.mean).toBeGreaterThan(8);
    expect(r.sequenceLength.mean).toBeLessThan(12);
    expect(r.itemsWithInteractions).toBeGreaterThan(0.9 * d.numItems);
    expect(d.items[0]).toBeNull();
    for (let id = 1; id <= d.numItems; id++) {
      const m = d.items[id]!;
      expect(m.asin).toMatch(/^[A-Z0-9]{10}$/);
      expect(m.title.split(' ').length).toBeGreaterThanOrEqual(3);
      expect(d.clusters[id]).toBeGreaterThanOrEqual(0);
    }
    expect([d.visual.rows, d.visual.cols]).toEqual([d.numItems + 1, SYNTHETIC_DEFAULTS.visualDim]);
    expect(Array.from(d.visual.data.subarray(0, d.visual.cols)).every((v) => v === 0)).toBe(true);
  });

  it('ties titles and visual features to the clusters', () => {
    const d = generateSynthetic();
    const cols = d.visual.cols;
    const row = (i: number) => d.visual.data.subarray(i * cols, (i + 1) * cols);
    const dist = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, j) => v - b[j]!));
    let same = 0;
    let other = 0;
    let ns = 0;
    let no = 0;
    let sharedWordsSame = 0;
    let sharedWordsOther = 0;
    const words = (i: number) => new Set(d.items[i]!.title.toLowerCase().split(' '));
    for (let i = 1; i <= 200; i++) {
      for (let j = i + 1; j <= 200; j++) {
        const overlap = [...words(i)].filter((w) => words(j).has(w)).length;
        if (d.clusters[i] === d.clusters[j]) {
          same += dist(row(i), row(j));
          sharedWordsSame += overlap;
          ns++;
        } else {
          other += dist(row(i), row(j));
          sharedWordsOther += overlap;
          no++;
        }
      }
    }
    expect(same / ns).toBeLessThan(0.7 * (other / no));
    expect(sharedWordsSame / ns).toBeGreaterThan(3 * (sharedWordsOther / no));
  });

  it('skews popularity', () => {
    const d = generateSynthetic();
    const freq = Array.from(itemFrequency(leaveOneOut(d).train, d.numItems))
      .slice(1)
      .sort((a, b) => b - a);
    const total = freq.reduce((a, b) => a + b, 0);
    const top10pct = freq.slice(0, d.numItems / 10).reduce((a, b) => a + b, 0);
    expect(top10pct / total).toBeGreaterThan(0.2); // 10 % of items carry over 20 % of interactions
  });

  it('is learnable: first-order Markov counts beat popularity by a wide margin on the test split', () => {
    const d = generateSynthetic();
    const split = leaveOneOut(d);
    const n = d.numItems;
    const pop = itemFrequency(split.train, n);
    const transitions = new Map<number, Float64Array>();
    for (const { items } of trainingSequences(d).sequences) {
      for (let t = 0; t + 1 < items.length; t++) {
        let row = transitions.get(items[t]!);
        if (!row) {
          row = new Float64Array(n + 1);
          transitions.set(items[t]!, row);
        }
        row[items[t + 1]!]!++;
      }
    }
    const maxPop = Math.max(...pop) + 1;
    const popularity = evaluate(split.test, n, () => Float64Array.from(pop));
    const markov = evaluate(split.test, n, (e) => {
      const row = transitions.get(e.history[e.history.length - 1]!);
      // Transition counts first, popularity only to order the rest.
      return Float64Array.from(pop, (p, j) => (row ? row[j]! * maxPop : 0) + p);
    });
    console.info(
      `synthetic (default config) test HR@10 / nDCG@10: markov ${markov.hr.toFixed(4)} / ${markov.ndcg.toFixed(4)}, ` +
        `popularity ${popularity.hr.toFixed(4)} / ${popularity.ndcg.toFixed(4)}`,
    );
    expect(markov.hr).toBeGreaterThan(popularity.hr + 0.25);
    expect(markov.hr).toBeGreaterThan(3 * popularity.hr);
    expect(markov.ndcg).toBeGreaterThan(3 * popularity.ndcg);
  });

  it('validates its config', () => {
    expect(() => generateSynthetic({ numItems: 10, maxSequenceLength: 20 })).toThrow(ConfigError);
    expect(() => generateSynthetic({ followProbability: 0.95, switchProbability: 0.1 })).toThrow(
      /must be <= 1/,
    );
    expect(() => generateSynthetic({ numUsers: 0 })).toThrow(/numUsers/);
    expect(SyntheticConfigSchema.parse({ seed: 1 }).numItems).toBe(500);
  });
});
