import { ShapeError } from '@mmesid/tensor';
import { SidCollisionError } from './errors.js';
import type { SidVocabulary } from './sid-vocabulary.js';

/**
 * A prefix trie over every item's target token sequence: decoding that only follows its edges can
 * only produce existing items. All sequences have the same length (the vocabulary's
 * `targetLength`), so leaves sit at one depth and each leaf is exactly one item.
 *
 * Nodes are integers (0 is the root). Memory is O(total tokens).
 *
 * @example
 * const trie = SidTrie.fromVocabulary(vocab);
 * trie.children(trie.root); // [[token, node], ...] sorted by token
 * trie.item(leaf); // item id at a leaf, 0 elsewhere
 */
export class SidTrie {
  readonly root = 0;
  readonly depth: number;
  readonly numItems: number;
  private readonly edges: Map<number, number>[] = [new Map()];
  private readonly counts: number[] = [0];
  private readonly leafItem: number[] = [0];
  private readonly parents: number[] = [-1];
  /** Leaf node of each item (index = item id; 0 unused). */
  private readonly leafOf: Int32Array;

  /**
   * @param sequences item id -> token sequence, for items 1..N (index 0 ignored)
   * @throws ShapeError for sequences of different lengths, SidCollisionError for two equal ones
   */
  constructor(
    sequences: readonly ArrayLike<number>[] | ((item: number) => ArrayLike<number>),
    numItems?: number,
  ) {
    const get = typeof sequences === 'function' ? sequences : (i: number) => sequences[i]!;
    const n = numItems ?? (Array.isArray(sequences) ? sequences.length - 1 : 0);
    if (n < 1) throw new ShapeError('SidTrie: no items');
    this.numItems = n;
    this.depth = get(1).length;
    if (this.depth < 1) throw new ShapeError('SidTrie: empty token sequence for item 1');
    this.leafOf = new Int32Array(n + 1);
    for (let item = 1; item <= n; item++) {
      const seq = get(item);
      if (seq.length !== this.depth)
        throw new ShapeError(`SidTrie: item ${item} has ${seq.length} tokens, item 1 has ${this.depth}`);
      let node = 0;
      this.counts[0]!++;
      for (let t = 0; t < seq.length; t++) {
        const tok = seq[t]!;
        let next = this.edges[node]!.get(tok);
        if (next === undefined) {
          next = this.edges.length;
          this.edges.push(new Map());
          this.counts.push(0);
          this.leafItem.push(0);
          this.parents.push(node);
          this.edges[node]!.set(tok, next);
        }
        node = next;
        this.counts[node]!++;
      }
      if (this.leafItem[node] !== 0)
        throw new SidCollisionError([this.leafItem[node]!, item], Array.from(seq));
      this.leafItem[node] = item;
      this.leafOf[item] = node;
    }
    for (let i = 0; i < this.edges.length; i++)
      this.edges[i] = new Map([...this.edges[i]!].sort((a, b) => a[0] - b[0]));
  }

  /** The trie of a vocabulary's target sequences. */
  static fromVocabulary(vocab: SidVocabulary): SidTrie {
    return new SidTrie((i) => vocab.target(i), vocab.numItems);
  }

  /** Number of nodes, root included. */
  get size(): number {
    return this.edges.length;
  }

  /** Outgoing edges of a node as [token, child] pairs, ascending by token. */
  children(node: number): [number, number][] {
    return [...this.edges[node]!];
  }

  /** The child reached by `token`, or undefined when no item continues that way. */
  child(node: number, token: number): number | undefined {
    return this.edges[node]!.get(token);
  }

  /** Items in the subtree of a node. */
  itemCount(node: number): number {
    return this.counts[node]!;
  }

  /** The item at a leaf (0 for inner nodes). */
  item(node: number): number {
    return this.leafItem[node]!;
  }

  /**
   * How many of `items` lie under each node they pass through (node -> count), used to hide a
   * user's history: a node is open when `itemCount(node) - blocked.get(node)` is positive.
   * Item ids outside 1..N and 0 (padding) are ignored; duplicates count once.
   */
  blockedCounts(items: ArrayLike<number>): Map<number, number> {
    const out = new Map<number, number>();
    const seen = new Set<number>();
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (!(it >= 1 && it <= this.numItems) || seen.has(it)) continue;
      seen.add(it);
      for (let node = this.leafOf[it]!; node >= 0; node = this.parents[node]!)
        out.set(node, (out.get(node) ?? 0) + 1);
    }
    return out;
  }
}
