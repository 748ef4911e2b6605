import { parseOptions, Rng } from '@mmesid/core';
import { z } from 'zod';
import type { Dataset, ItemMeta, Matrix } from './dataset.js';

/** The configuration of {@link generateSynthetic}. Every field has a default. */
export const SyntheticConfigSchema = z
  .strictObject({
    /** Seed of every random choice; the same config gives the same dataset. */
    seed: z.number().int().default(42),
    numUsers: z.number().int().positive().default(1000),
    numItems: z.number().int().min(2).default(500),
    /** Latent interest clusters; each item belongs to one. */
    numClusters: z.number().int().positive().default(10),
    /** Sequence lengths: `min + geometric`, with this mean, capped at `maxSequenceLength`. */
    meanSequenceLength: z.number().positive().default(10),
    minSequenceLength: z.number().int().min(1).default(5),
    maxSequenceLength: z.number().int().positive().default(40),
    /** Each user is interested in between these many clusters (inclusive). */
    interestsPerUser: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([1, 3]),
    /**
     * Probability that the next item is the current item's successor in its cluster's chain: the
     * sequential signal that an order-aware model can learn and popularity cannot.
     */
    followProbability: z.number().min(0).max(1).default(0.6),
    /** Probability that the next item comes from another of the user's clusters. */
    switchProbability: z.number().min(0).max(1).default(0.1),
    /** Zipf exponent of item popularity (0: uniform). Used for first items, jumps and fallbacks. */
    popularityExponent: z.number().min(0).default(1),
    /** Length of each item's visual feature vector. */
    visualDim: z.number().int().positive().default(32),
    /** Standard deviation of an item's visual noise around its cluster centroid (centroids have norm ~1). */
    visualNoise: z.number().min(0).default(0.35),
    /** Words in each cluster's own vocabulary. */
    vocabularyPerCluster: z.number().int().positive().default(24),
    /** Words per title (inclusive range). */
    titleWords: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([3, 6]),
    /** Probability that a title word comes from the shared (cluster-free) vocabulary instead. */
    sharedWordProbability: z.number().min(0).max(1).default(0.25),
  })
  .refine((c) => c.minSequenceLength <= c.maxSequenceLength, {
    message: 'minSequenceLength must be <= maxSequenceLength',
  })
  .refine((c) => c.maxSequenceLength <= c.numItems, { message: 'maxSequenceLength must be <= numItems' })
  .refine((c) => c.numClusters <= c.numItems, { message: 'numClusters must be <= numItems' })
  .refine((c) => c.interestsPerUser[0] <= c.interestsPerUser[1], {
    message: 'interestsPerUser must be [lo, hi]',
  })
  .refine((c) => c.titleWords[0] <= c.titleWords[1], { message: 'titleWords must be [lo, hi]' })
  .refine((c) => c.followProbability + c.switchProbability <= 1, {
    message: 'followProbability + switchProbability must be <= 1',
  });

/** A synthetic config as accepted (every field optional). */
export type SyntheticConfig = z.input<typeof SyntheticConfigSchema>;

/** The defaults of {@link SyntheticConfigSchema}. */
export const SYNTHETIC_DEFAULTS: z.output<typeof SyntheticConfigSchema> = SyntheticConfigSchema.parse({});

/** A synthetic dataset plus the ground truth it was drawn from. */
export interface SyntheticDataset extends Dataset {
  /** The config used, defaults filled in. */
  readonly config: z.output<typeof SyntheticConfigSchema>;
  /** Cluster of each item id (`-1` at index 0, padding). */
  readonly clusters: Int32Array;
  /** Per-item visual features, `(numItems + 1) x visualDim`; row 0 (padding) is zero. */
  readonly visual: Matrix;
  /** The chain successor of each item in its cluster (0 at index 0). */
  readonly successor: Int32Array;
  /** The popularity weight of each item (sums to 1 over 1..numItems; 0 at index 0). */
  readonly popularity: Float64Array;
}

const SHARED_WORDS = [
  'classic',
  'deluxe',
  'mini',
  'original',
  'pro',
  'set',
  'pack',
  'edition',
  'natural',
  'premium',
  'travel',
  'daily',
  'ultra',
  'soft',
  'new',
  'value',
  'twin',
  'plus',
  'essential',
  'home',
];
const ONSETS = [
  'b',
  'c',
  'd',
  'f',
  'g',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'z',
  'br',
  'cl',
  'st',
  'tr',
  'sh',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];
const CODAS = ['', '', 'n', 'r', 's', 'l', 'x', 'm'];

/**
 * Generates a seeded, learnable sequential-recommendation dataset that looks like a small Amazon
 * category: items in latent interest clusters, titles drawn from per-cluster vocabularies,
 * visual feature vectors around per-cluster centroids, Zipf popularity, and sequences with order.
 *
 * Each cluster's items form a chain (a random cycle); a user walks it: the next item is the
 * current item's successor with probability `followProbability`, an item from another of the
 * user's clusters with `switchProbability`, and otherwise a popular item of the current cluster.
 * No user sees an item twice (as in Beauty). So a model that uses order (even first-order Markov
 * counts) beats popularity by a wide margin, and text and images carry the cluster signal.
 *
 * Same config, same dataset, on every engine.
 *
 * @example
 * const data = generateSynthetic({ seed: 7, numUsers: 200, numItems: 100 });
 * const split = leaveOneOut(data);
 */
export function generateSynthetic(config: SyntheticConfig = {}): SyntheticDataset {
  const cfg = parseOptions(SyntheticConfigSchema, config, 'generateSynthetic config');
  const { numItems, numClusters, numUsers } = cfg;
  const root = new Rng(`synthetic/${cfg.seed}`);

  // Clusters of about equal size, assigned through a random permutation.
  const clusters = new Int32Array(numItems + 1).fill(-1);
  const members: number[][] = Array.from({ length: numClusters }, () => []);
  const perm = root.fork('clusters').permutation(numItems);
  for (let p = 0; p < numItems; p++) {
    const id = perm[p]! + 1;
    clusters[id] = p % numClusters;
    members[p % numClusters]!.push(id);
  }

  // Zipf popularity over a random ranking of all items.
  const popularity = new Float64Array(numItems + 1);
  const ranks = root.fork('popularity').permutation(numItems);
  let total = 0;
  for (let id = 1; id <= numItems; id++) {
    popularity[id] = 1 / (ranks[id - 1]! + 1) ** cfg.popularityExponent;
    total += popularity[id]!;
  }
  for (let id = 1; id <= numItems; id++) popularity[id] = popularity[id]! / total;

  // Each cluster's chain: a random cycle through its members.
  const successor = new Int32Array(numItems + 1);
  const chainRng = root.fork('chains');
  for (const m of members) {
    const order = chainRng.shuffle<number, number[]>([...m]);
    for (let k = 0; k < order.length; k++) successor[order[k]!] = order[(k + 1) % order.length]!;
  }

  const visual = makeVisual(cfg, clusters, root.fork('visual'));
  const items = makeTitles(cfg, clusters, root.fork('titles'));

  const walkRng = root.fork('sequences');
  const clusterSampler = members.map((m) => walkRng.alias(m.map((id) => popularity[id]!)));
  const clusterWeight = members.map((m) => m.reduce((s, id) => s + popularity[id]!, 0));
  const sequences: Int32Array[] = [];
  const userIds: string[] = [];
  const geometricP = 1 / (1 + Math.max(0, cfg.meanSequenceLength - cfg.minSequenceLength));
  for (let u = 0; u < numUsers; u++) {
    const nInterests = Math.min(
      numClusters,
      walkRng.intBetween(cfg.interestsPerUser[0], cfg.interestsPerUser[1]),
    );
    const interests: number[] = [];
    const interestWeights: number[] = [];
    const w = [...clusterWeight];
    for (let k = 0; k < nInterests; k++) {
      const c = walkRng.weighted(w);
      w[c] = 0;
      interests.push(c);
      interestWeights.push(0.5 + walkRng.float());
    }
    let extra = 0;
    while (walkRng.float() >= geometricP) extra++;
    const length = Math.min(cfg.maxSequenceLength, cfg.minSequenceLength + extra);

    const seen = new Set<number>();
    const seq = new Int32Array(length);
    const fromCluster = (c: number): number => {
      for (let tries = 0; tries < 8; tries++) {
        const id = members[c]![clusterSampler[c]!()]!;
        if (!seen.has(id)) return id;
      }
      const free = members[c]!.filter((id) => !seen.has(id));
      if (free.length > 0) return free[walkRng.int(free.length)]!;
      let id: number;
      do id = 1 + walkRng.int(numItems);
      while (seen.has(id));
      return id;
    };
    let current = fromCluster(interests[walkRng.weighted(interestWeights)]!);
    for (let t = 0; t < length; t++) {
      if (t > 0) {
        const r = walkRng.float();
        const next = successor[current]!;
        if (r < cfg.followProbability && !seen.has(next)) current = next;
        else if (r < cfg.followProbability + cfg.switchProbability && interests.length > 1) {
          const here = clusters[current]!;
          const others = interestWeights.map((x, k) => (interests[k] === here ? 0 : x));
          current = fromCluster(interests[walkRng.weighted(others)]!);
        } else current = fromCluster(clusters[current]!);
      }
      seen.add(current);
      seq[t] = current;
    }
    sequences.push(seq);
    userIds.push(`U${String(u + 1).padStart(6, '0')}`);
  }

  return {
    name: `synthetic-${cfg.seed}`,
    numItems,
    sequences,
    userIds,
    items,
    provenance: {
      kind: 'synthetic',
      files: [],
      filters: [],
      notes: [`generateSynthetic(${JSON.stringify(cfg)})`],
    },
    config: cfg,
    clusters,
    visual,
    successor,
    popularity,
  };
}

function makeVisual(cfg: z.output<typeof SyntheticConfigSchema>, clusters: Int32Array, rng: Rng): Matrix {
  const d = cfg.visualDim;
  const centroids = new Float32Array(cfg.numClusters * d);
  for (let i = 0; i < centroids.length; i++) centroids[i] = rng.normal(0, 1 / Math.sqrt(d));
  const data = new Float32Array((cfg.numItems + 1) * d);
  const noise = cfg.visualNoise / Math.sqrt(d);
  for (let id = 1; id <= cfg.numItems; id++) {
    const c = clusters[id]!;
    for (let j = 0; j < d; j++) data[id * d + j] = centroids[c * d + j]! + rng.normal(0, noise);
  }
  return { rows: cfg.numItems + 1, cols: d, data };
}

function makeWord(rng: Rng): string {
  const syllables = rng.intBetween(2, 3);
  let w = '';
  for (let s = 0; s < syllables; s++) {
    w += ONSETS[rng.int(ONSETS.length)]! + VOWELS[rng.int(VOWELS.length)]!;
  }
  return w + CODAS[rng.int(CODAS.length)]!;
}

function makeTitles(
  cfg: z.output<typeof SyntheticConfigSchema>,
  clusters: Int32Array,
  rng: Rng,
): (ItemMeta | null)[] {
  const used = new Set<string>(SHARED_WORDS);
  const vocab: string[][] = [];
  for (let c = 0; c < cfg.numClusters; c++) {
    const words: string[] = [];
    while (words.length < cfg.vocabularyPerCluster) {
      const w = makeWord(rng);
      if (used.has(w)) continue;
      used.add(w);
      words.push(w);
    }
    vocab.push(words);
  }
  const items: (ItemMeta | null)[] = [null];
  for (let id = 1; id <= cfg.numItems; id++) {
    const words = vocab[clusters[id]!]!;
    const n = rng.intBetween(cfg.titleWords[0], cfg.titleWords[1]);
    const title: string[] = [];
    for (let k = 0; k < n; k++) {
      const w = rng.bernoulli(cfg.sharedWordProbability)
        ? SHARED_WORDS[rng.int(SHARED_WORDS.length)]!
        : words[rng.int(words.length)]!;
      title.push(k === 0 ? w[0]!.toUpperCase() + w.slice(1) : w);
    }
    const asin = `S${String(id).padStart(9, '0')}`;
    items.push({ asin, title: title.join(' '), imageUrl: `synthetic://image/${asin}` });
  }
  return items;
}
