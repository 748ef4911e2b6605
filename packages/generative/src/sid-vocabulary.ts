import { ConfigError, ShapeError } from '@mmesid/tensor';
import { SidCollisionError, SidVocabularyMismatchError } from './errors.js';

/**
 * The semantic IDs of one modality (one tokenizer), in the layout `@mmesid/rqvae`'s export and
 * `@mmesid/fusion`'s `ModalitySemanticIds` use: row-major `(numItems + 1) x levels`, row 0 is the
 * padding item and is ignored.
 */
export interface SidSegmentCodes {
  readonly ids: Int32Array;
  readonly levels: number;
  readonly codebookSize: number;
  /** Row-major levels x codebookSize x dim, for codebook initialisation of the new tokens. */
  readonly codebooks?: Float32Array;
  /** Code width of `codebooks`. */
  readonly dim?: number;
}

/** How items whose codes coincide are told apart (TIGER, Sec. 3.1: an extra code level). */
export type Disambiguation = 'auto' | 'always' | 'none';

/** Options of {@link SidVocabulary.build}. */
export interface SidVocabularyOptions {
  /** Segments (modalities) rendered for each history item, in order. Default: all, in insertion order. */
  history?: readonly string[];
  /**
   * Segments the model generates for the target item, in order. Default: all (TIGER-MM generates every
   * modality's codes, so the target is written exactly like a history item).
   */
  target?: readonly string[];
  /**
   * `'auto'` (default): add one disambiguation level, sized by the largest group of items that share
   * all target codes, only when such a group exists; `'always'`: add it even without collisions (size
   * at least 1); `'none'`: a collision is an error ({@link SidCollisionError}).
   */
  disambiguation?: Disambiguation;
}

/** Collision counts over the target codes (before disambiguation). */
export interface SidCollisionReport {
  /** Items (1..N). */
  readonly items: number;
  /** Distinct target code tuples. */
  readonly distinctSequences: number;
  /** Code tuples shared by more than one item. */
  readonly collidingGroups: number;
  /** Items that share their tuple with at least one other item. */
  readonly collidingItems: number;
  /** Largest number of items sharing one tuple (1 without collisions). */
  readonly maxGroupSize: number;
  /** Size of the added disambiguation level (0 when none was added). */
  readonly disambiguationSize: number;
}

/** One slot of the SID vocabulary: a (segment, level) pair or the disambiguation level. */
export interface SidSlot {
  /** Segment name, or `'#disambiguation'`. */
  readonly segment: string;
  /** Level within the segment (0 for the disambiguation level). */
  readonly level: number;
  /** Number of codes of this slot. */
  readonly size: number;
  /** Index of code 0 of this slot in the SID vocabulary. */
  readonly offset: number;
}

/** What a checkpoint records about its SID vocabulary, compared on load. */
export interface SidVocabularySpec {
  readonly numItems: number;
  readonly segments: readonly { name: string; levels: number; codebookSize: number }[];
  readonly history: readonly string[];
  readonly target: readonly string[];
  readonly disambiguationSize: number;
  readonly size: number;
  /** FNV-1a over every item's history tokens and target sequence: differs when any code differs. */
  readonly fingerprint: string;
}

export const DISAMBIGUATION_SEGMENT = '#disambiguation';

/**
 * The new tokens of generative retrieval: every (modality, level, code) is its own token, at
 * `offset(slot) + code`, so level-l code c never shares a token with another level's c (TIGER's
 * per-level vocabulary). Items whose target codes collide get an extra level 0..n-1 in item-id
 * order, as TIGER does, so every item has a unique target sequence.
 *
 * Token ids here are indices into the SID vocabulary (0..size-1); the model places them after the
 * Llama's text vocabulary.
 *
 * @see TIGER (Rajput et al., NeurIPS'23), Sec. 3.1 "semantic ID generation", collisions
 * @example
 * const vocab = SidVocabulary.build({ collaborative: sids }, { disambiguation: 'auto' });
 * vocab.target(17); // Int32Array [3, 256 + 41, 512 + 7] (+ a disambiguation token when 17 collides)
 * vocab.collisions; // { collidingItems: 12, maxGroupSize: 2, ... }
 */
export class SidVocabulary {
  readonly numItems: number;
  readonly slots: readonly SidSlot[];
  readonly segments: readonly { name: string; levels: number; codebookSize: number }[];
  readonly historySegments: readonly string[];
  readonly targetSegments: readonly string[];
  readonly collisions: SidCollisionReport;
  /** Number of SID tokens. */
  readonly size: number;
  /** Tokens per history item. */
  readonly historyLength: number;
  /** Tokens per generated target (the depth of the trie). */
  readonly targetLength: number;
  private readonly hist: Int32Array;
  private readonly tgt: Int32Array;
  private readonly codebookData: ReadonlyMap<string, SidSegmentCodes>;

  private constructor(
    segments: ReadonlyMap<string, SidSegmentCodes>,
    numItems: number,
    history: readonly string[],
    target: readonly string[],
    disambiguation: Disambiguation,
  ) {
    this.numItems = numItems;
    this.codebookData = segments;
    this.historySegments = [...history];
    this.targetSegments = [...target];
    this.segments = [...segments].map(([name, s]) => ({
      name,
      levels: s.levels,
      codebookSize: s.codebookSize,
    }));
    const slots: SidSlot[] = [];
    const slotOf = new Map<string, number>();
    let offset = 0;
    for (const [name, s] of segments)
      for (let l = 0; l < s.levels; l++) {
        slotOf.set(`${name}/${l}`, slots.length);
        slots.push({ segment: name, level: l, size: s.codebookSize, offset });
        offset += s.codebookSize;
      }
    // Group items by their target code tuple (item-id order inside a group, as TIGER assigns 0..n-1).
    const tupleLen = target.reduce((n, t) => n + segments.get(t)!.levels, 0);
    const groups = new Map<string, number[]>();
    const tuple = (item: number): number[] => {
      const out: number[] = [];
      for (const t of target) {
        const s = segments.get(t)!;
        for (let l = 0; l < s.levels; l++) out.push(s.ids[item * s.levels + l]!);
      }
      return out;
    };
    for (let i = 1; i <= numItems; i++) {
      const key = tuple(i).join(',');
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    }
    let maxGroup = 1;
    let collidingGroups = 0;
    let collidingItems = 0;
    for (const g of groups.values()) {
      maxGroup = Math.max(maxGroup, g.length);
      if (g.length > 1) {
        collidingGroups++;
        collidingItems += g.length;
      }
    }
    if (maxGroup > 1 && disambiguation === 'none') {
      const g = [...groups.values()].find((x) => x.length > 1)!;
      throw new SidCollisionError([g[0]!, g[1]!], tuple(g[0]!));
    }
    const disSize =
      disambiguation === 'always' ? maxGroup : disambiguation === 'auto' && maxGroup > 1 ? maxGroup : 0;
    if (disSize > 0) slots.push({ segment: DISAMBIGUATION_SEGMENT, level: 0, size: disSize, offset });
    this.size = offset + disSize;
    this.slots = slots;
    this.collisions = {
      items: numItems,
      distinctSequences: groups.size,
      collidingGroups,
      collidingItems,
      maxGroupSize: maxGroup,
      disambiguationSize: disSize,
    };
    const dis = new Int32Array(numItems + 1);
    for (const g of groups.values())
      g.forEach((item, k) => {
        dis[item] = k;
      });
    const extra = disSize > 0 ? 1 : 0;
    this.targetLength = tupleLen + extra;
    this.historyLength = history.reduce((n, h) => n + segments.get(h)!.levels, 0) + extra;
    const render = (names: readonly string[], len: number): Int32Array => {
      const out = new Int32Array((numItems + 1) * len);
      for (let i = 1; i <= numItems; i++) {
        let p = i * len;
        for (const name of names) {
          const s = segments.get(name)!;
          for (let l = 0; l < s.levels; l++)
            out[p++] = slots[slotOf.get(`${name}/${l}`)!]!.offset + s.ids[i * s.levels + l]!;
        }
        if (extra) out[p] = offset + dis[i]!;
      }
      return out;
    };
    this.hist = render(history, this.historyLength);
    this.tgt = render(target, this.targetLength);
  }

  /**
   * Builds the vocabulary from one or more segments (modalities), each `(numItems + 1) x levels`.
   *
   * @throws ShapeError when segments disagree on the number of items or a code is out of range
   * @throws SidCollisionError with `disambiguation: 'none'` when two items share all target codes
   */
  static build(
    segments: Readonly<Record<string, SidSegmentCodes>>,
    opts: SidVocabularyOptions = {},
  ): SidVocabulary {
    const names = Object.keys(segments);
    if (names.length === 0) throw new ConfigError('SidVocabulary: no segments given');
    let rows = -1;
    const map = new Map<string, SidSegmentCodes>();
    for (const name of names) {
      if (name === DISAMBIGUATION_SEGMENT)
        throw new ConfigError(`SidVocabulary: segment name ${name} is reserved`);
      const s = segments[name]!;
      if (!(Number.isInteger(s.levels) && s.levels >= 1))
        throw new ShapeError(
          `SidVocabulary: segment "${name}" has levels = ${s.levels}, expected an integer >= 1`,
        );
      if (!(Number.isInteger(s.codebookSize) && s.codebookSize >= 1))
        throw new ShapeError(`SidVocabulary: segment "${name}" has codebookSize = ${s.codebookSize}`);
      if (s.ids.length % s.levels !== 0)
        throw new ShapeError(
          `SidVocabulary: segment "${name}" holds ${s.ids.length} ids, not a multiple of levels = ${s.levels}`,
        );
      const r = s.ids.length / s.levels;
      if (rows >= 0 && r !== rows)
        throw new ShapeError(
          `SidVocabulary: segment "${name}" has ${r} rows but "${names[0]}" has ${rows} (numItems + 1 each)`,
        );
      rows = r;
      for (let i = s.levels; i < s.ids.length; i++) {
        const c = s.ids[i]!;
        if (!(Number.isInteger(c) && c >= 0 && c < s.codebookSize))
          throw new ShapeError(
            `SidVocabulary: segment "${name}" item ${Math.floor(i / s.levels)} level ${i % s.levels} has code ${c}, outside 0..${s.codebookSize - 1}`,
          );
      }
      map.set(name, s);
    }
    if (rows < 2) throw new ShapeError('SidVocabulary: no items (rows must be numItems + 1 >= 2)');
    const pick = (what: string, list: readonly string[] | undefined): string[] => {
      const out = [...(list ?? names)];
      if (out.length === 0) throw new ConfigError(`SidVocabulary: ${what} lists no segment`);
      for (const n of out)
        if (!map.has(n))
          throw new ConfigError(
            `SidVocabulary: ${what} names segment "${n}", not one of ${names.join(', ')}`,
          );
      return out;
    };
    return new SidVocabulary(
      map,
      rows - 1,
      pick('history', opts.history),
      pick('target', opts.target),
      opts.disambiguation ?? 'auto',
    );
  }

  /** Target token sequence of an item (SID-vocabulary indices, length {@link targetLength}). A view: do not modify. */
  target(item: number): Int32Array {
    this.checkItem(item);
    return this.tgt.subarray(item * this.targetLength, (item + 1) * this.targetLength);
  }

  /** Tokens that render an item in a history (length {@link historyLength}). A view: do not modify. */
  historyTokens(item: number): Int32Array {
    this.checkItem(item);
    return this.hist.subarray(item * this.historyLength, (item + 1) * this.historyLength);
  }

  /** The slot a SID token belongs to. */
  slotOf(token: number): SidSlot {
    if (!(Number.isInteger(token) && token >= 0 && token < this.size))
      throw new ShapeError(`SidVocabulary: token ${token} outside 0..${this.size - 1}`);
    let lo = 0;
    let hi = this.slots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.slots[mid]!.offset <= token) lo = mid;
      else hi = mid - 1;
    }
    return this.slots[lo]!;
  }

  /** The codes of a segment as given (for codebook initialisation). */
  segmentCodes(name: string): SidSegmentCodes | undefined {
    return this.codebookData.get(name);
  }

  /** What a checkpoint stores to recognise this vocabulary. */
  spec(): SidVocabularySpec {
    let h = 0x811c9dc5;
    const mix = (arr: Int32Array) => {
      for (let i = 0; i < arr.length; i++) {
        h ^= arr[i]! & 0xffff;
        h = Math.imul(h, 0x01000193) >>> 0;
        h ^= arr[i]! >>> 16;
        h = Math.imul(h, 0x01000193) >>> 0;
      }
    };
    mix(this.hist);
    mix(this.tgt);
    return {
      numItems: this.numItems,
      segments: this.segments.map((s) => ({ ...s })),
      history: [...this.historySegments],
      target: [...this.targetSegments],
      disambiguationSize: this.collisions.disambiguationSize,
      size: this.size,
      fingerprint: h.toString(16).padStart(8, '0'),
    };
  }

  /**
   * Checks that a saved spec describes this vocabulary.
   *
   * @throws SidVocabularyMismatchError naming each differing field with both values
   */
  assertMatches(
    saved: SidVocabularySpec,
    savedWhere: string,
    currentWhere = 'the semantic-ID tokenizer',
  ): void {
    const now = this.spec();
    const diffs: string[] = [];
    const cmp = (field: string, a: unknown, b: unknown) => {
      const sa = JSON.stringify(a);
      const sb = JSON.stringify(b);
      if (sa !== sb) diffs.push(`${field}: ${savedWhere} has ${sa}, ${currentWhere} gives ${sb}`);
    };
    cmp('numItems', saved.numItems, now.numItems);
    cmp('segments', saved.segments, now.segments);
    cmp('history', saved.history, now.history);
    cmp('target', saved.target, now.target);
    cmp('disambiguationSize', saved.disambiguationSize, now.disambiguationSize);
    cmp('size', saved.size, now.size);
    if (diffs.length === 0) cmp("fingerprint (the items' codes)", saved.fingerprint, now.fingerprint);
    if (diffs.length > 0)
      throw new SidVocabularyMismatchError(`SID vocabulary mismatch:\n  ${diffs.join('\n  ')}`);
  }

  private checkItem(item: number): void {
    if (!(Number.isInteger(item) && item >= 1 && item <= this.numItems))
      throw new ShapeError(`SidVocabulary: item ${item} outside 1..${this.numItems}`);
  }
}
