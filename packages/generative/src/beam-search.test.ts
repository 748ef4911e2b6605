import { Rng } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { beamSearch, type SidStepDecoder } from './beam-search.js';
import { SidTrie } from './sid-trie.js';

/**
 * A toy model whose next-token log-probabilities are set by hand: a fixed table keyed by the
 * prefix fed so far (log-softmax of seeded random logits, so they depend on the whole prefix).
 */
class TableDecoder implements SidStepDecoder {
  private prefixes: number[][] = [];
  calls = 0;
  constructor(
    readonly vocabSize: number,
    private readonly lp: (prefix: readonly number[]) => Float64Array,
    private readonly users: number,
  ) {}
  async first(): Promise<Float32Array> {
    this.prefixes = Array.from({ length: this.users }, () => []);
    return this.rows();
  }
  async next(parents: Int32Array, tokens: Int32Array): Promise<Float32Array> {
    this.calls++;
    this.prefixes = Array.from(parents, (p, r) => [...this.prefixes[p]!, tokens[r]!]);
    return this.rows();
  }
  private rows(): Float32Array {
    const out = new Float32Array(this.prefixes.length * this.vocabSize);
    this.prefixes.forEach((p, r) => {
      out.set(this.lp(p), r * this.vocabSize);
    });
    return out;
  }
}

/** Seeded log-softmax rows, one per distinct prefix (and user). */
function randomTable(V: number, seed: string, scale = 3): (prefix: readonly number[]) => Float64Array {
  const memo = new Map<string, Float64Array>();
  return (prefix) => {
    const key = prefix.join(',');
    let row = memo.get(key);
    if (!row) {
      const rng = new Rng(`${seed}:${key}`);
      const logits = Array.from({ length: V }, () => rng.normal(0, scale));
      const m = Math.max(...logits);
      const lse = m + Math.log(logits.reduce((s, x) => s + Math.exp(x - m), 0));
      row = Float64Array.from(logits, (x) => x - lse);
      memo.set(key, row);
    }
    return row;
  };
}

/** Sequences of `n` random distinct items over a per-level vocabulary (level l uses tokens l*K..). */
function randomItems(n: number, L: number, K: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const items: number[][] = [[]];
  while (items.length <= n) {
    const s = Array.from({ length: L }, (_, l) => l * K + rng.int(K));
    const k = s.join(',');
    if (seen.has(k)) continue;
    seen.add(k);
    items.push(s);
  }
  return items;
}

/** Oracle 1: every item's exact log-probability by enumeration (float32 rows, float64 sums). */
function enumerate(items: number[][], lp: (p: readonly number[]) => Float64Array, exclude: number[] = []) {
  const out: { item: number; score: number }[] = [];
  for (let i = 1; i < items.length; i++) {
    if (exclude.includes(i)) continue;
    let s = 0;
    items[i]!.forEach((tok, t) => {
      s += Math.fround(lp(items[i]!.slice(0, t))[tok]!);
    });
    out.push({ item: i, score: s });
  }
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Oracle 2: beam search's definition written over prefix sets: at depth t keep the best W of the
 * valid length-t prefixes whose parent was kept; prefix scores are sums over full enumeration.
 */
function beamByPrefixSets(
  items: number[][],
  lp: (p: readonly number[]) => Float64Array,
  W: number,
): number[] {
  const D = items[1]!.length;
  const score = (p: number[]) => p.reduce((s, tok, t) => s + Math.fround(lp(p.slice(0, t))[tok]!), 0);
  let kept = new Set<string>(['']);
  for (let t = 1; t <= D; t++) {
    const prefixes = new Map<string, number[]>();
    for (const s of items.slice(1)) {
      const p = s.slice(0, t);
      if (kept.has(p.slice(0, t - 1).join(','))) prefixes.set(p.join(','), p);
    }
    const ranked = [...prefixes.values()].sort((a, b) => score(b) - score(a));
    kept = new Set(ranked.slice(0, W).map((p) => p.join(',')));
  }
  const ranked = items
    .map((s, i) => ({ i, s }))
    .filter(({ i, s }) => i > 0 && kept.has(s.join(',')))
    .sort((a, b) => score(b.s) - score(a.s));
  return ranked.map(({ i }) => i);
}

describe('beamSearch (trie-constrained) against brute-force enumeration', () => {
  const L = 3;
  const K = 4;
  const V = L * K;

  it('only yields items of the trie, for every user and width', async () => {
    const items = randomItems(25, L, K, 1);
    const trie = new SidTrie(items);
    for (const W of [1, 3, 7, 25]) {
      const dec = new TableDecoder(V, randomTable(V, `any${W}`), 3);
      const res = await beamSearch(dec, trie, 3, { beamWidth: W });
      for (const r of res) {
        expect(r.items.length).toBe(W);
        expect(new Set(r.items).size).toBe(W);
        for (const it of r.items) expect(it >= 1 && it <= 25).toBe(true);
      }
    }
  });

  it('with beam width >= the number of items it equals full enumeration (items and scores)', async () => {
    for (const seed of [2, 3, 4]) {
      const items = randomItems(20, L, K, seed);
      const lp = randomTable(V, `full${seed}`);
      const res = await beamSearch(new TableDecoder(V, lp, 1), new SidTrie(items), 1, { beamWidth: 20 });
      const truth = enumerate(items, lp);
      expect(Array.from(res[0]!.items)).toEqual(truth.map((x) => x.item));
      res[0]!.scores.forEach((s, i) => {
        expect(s).toBeCloseTo(truth[i]!.score, 9);
      });
    }
  });

  it('when the first levels dominate the score, a narrow beam returns exactly the k best items', async () => {
    // Hand-set logits: level 0 gaps (x100) exceed everything later can add, level 1 gaps (x10) exceed level 2.
    const items = randomItems(30, L, K, 5);
    const noise = randomTable(V, 'dom', 0.2);
    const lp = (p: readonly number[]) => {
      const row = Float64Array.from(noise(p));
      for (let c = 0; c < K; c++) row[p.length * K + c]! += -[100, 10, 1][p.length]! * c;
      return row;
    };
    for (const W of [1, 2, 5]) {
      const res = await beamSearch(new TableDecoder(V, lp, 1), new SidTrie(items), 1, { beamWidth: W });
      expect(Array.from(res[0]!.items)).toEqual(
        enumerate(items, lp)
          .slice(0, W)
          .map((x) => x.item),
      );
    }
  });

  it('with a narrow beam it returns what beam search defines (prefix-set oracle), and can miss the global best', async () => {
    let missed = 0;
    for (const seed of [6, 7, 8, 9, 10, 11]) {
      const items = randomItems(40, L, K, seed);
      const lp = randomTable(V, `narrow${seed}`);
      for (const W of [1, 2, 4, 8]) {
        const res = await beamSearch(new TableDecoder(V, lp, 1), new SidTrie(items), 1, { beamWidth: W });
        expect(Array.from(res[0]!.items)).toEqual(beamByPrefixSets(items, lp, W));
        if (res[0]!.items[0] !== enumerate(items, lp)[0]!.item) missed++;
      }
    }
    // Beam search is approximate; the test data is rich enough to show it at least once.
    expect(missed).toBeGreaterThan(0);
  });

  it('users are independent in one batch; topK truncates; one forward per non-final level', async () => {
    const items = randomItems(30, L, K, 12);
    const lpFor = (u: number) => randomTable(V, `user${u}`);
    // Batched decoder: user u's rows use table u (rows remember their user through the parents).
    let owner: number[] = [];
    const batched: SidStepDecoder = {
      vocabSize: V,
      first: async () => {
        owner = [0, 1, 2];
        prefixes = [[], [], []];
        return rows();
      },
      next: async (parents, tokens) => {
        owner = Array.from(parents, (p) => owner[p]!);
        prefixes = Array.from(parents, (p, r) => [...prefixes[p]!, tokens[r]!]);
        return rows();
      },
    };
    let prefixes: number[][] = [];
    const rows = () => {
      const out = new Float32Array(prefixes.length * V);
      prefixes.forEach((p, r) => {
        out.set(lpFor(owner[r]!)(p), r * V);
      });
      return out;
    };
    const res = await beamSearch(batched, new SidTrie(items), 3, { beamWidth: 6, topK: 4 });
    for (let u = 0; u < 3; u++) {
      const alone = await beamSearch(new TableDecoder(V, lpFor(u), 1), new SidTrie(items), 1, {
        beamWidth: 6,
      });
      expect(Array.from(res[u]!.items)).toEqual(Array.from(alone[0]!.items.slice(0, 4)));
    }
    const dec = new TableDecoder(V, lpFor(0), 1);
    await beamSearch(dec, new SidTrie(items), 1, { beamWidth: 6 });
    expect(dec.calls).toBe(L - 1);
  });

  it('hiding a history equals searching the trie without those items', async () => {
    const items = randomItems(30, L, K, 13);
    const lp = randomTable(V, 'hist');
    const history = [3, 7, 8, 21, 0];
    for (const W of [2, 5, 26]) {
      const res = await beamSearch(new TableDecoder(V, lp, 1), new SidTrie(items), 1, {
        beamWidth: W,
        exclude: [history],
      });
      const keep = items.map((_, i) => i).filter((i) => i > 0 && !history.includes(i));
      const reduced = new SidTrie((j) => items[keep[j - 1]!]!, keep.length);
      const ref = await beamSearch(new TableDecoder(V, lp, 1), reduced, 1, { beamWidth: W });
      expect(Array.from(res[0]!.items)).toEqual(Array.from(ref[0]!.items, (j) => keep[j - 1]!));
      for (const h of history) expect(Array.from(res[0]!.items)).not.toContain(h);
    }
    // Width 26 = every open item: full enumeration minus the history.
    const all = await beamSearch(new TableDecoder(V, lp, 1), new SidTrie(items), 1, {
      beamWidth: 26,
      exclude: [history],
    });
    expect(Array.from(all[0]!.items)).toEqual(enumerate(items, lp, history).map((x) => x.item));
  });

  it('a beam wider than the catalogue, or topK above it, is an error naming both numbers', async () => {
    const items = randomItems(5, L, K, 14);
    const dec = new TableDecoder(V, randomTable(V, 'x'), 1);
    await expect(beamSearch(dec, new SidTrie(items), 1, { beamWidth: 6 })).rejects.toThrow(
      /beamWidth 6 exceeds the number of items in the trie \(5\)/,
    );
    await expect(beamSearch(dec, new SidTrie(items), 1, { beamWidth: 3, topK: 4 })).rejects.toThrow(/topK/);
  });
});
