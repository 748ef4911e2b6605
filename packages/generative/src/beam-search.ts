import { BeamSearchError } from './errors.js';
import type { SidTrie } from './sid-trie.js';

/**
 * What beam search needs from a model: log-probabilities of the next SID token for every live row.
 * Rows start as one per user (after the prompt) and are then re-formed at each step: new row r
 * continues old row `parents[r]` with SID token `tokens[r]`.
 *
 * Both methods return a row-major [rows x sidVocabSize] array of log-probabilities.
 */
export interface SidStepDecoder {
  /** SID vocabulary size (row width of the returned arrays). */
  readonly vocabSize: number;
  /** Log-probs of the first target token, one row per user, in user order. */
  first(): Promise<Float32Array>;
  /** Re-forms the rows and feeds one token per row; log-probs of the following token. */
  next(parents: Int32Array, tokens: Int32Array): Promise<Float32Array>;
}

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions {
  /** Beams kept per user at every step (>= 1, at most the number of items). */
  beamWidth: number;
  /** Items returned per user (default `beamWidth`; at most `beamWidth`). */
  topK?: number;
  /**
   * Items to hide, per user (e.g. the history). A prefix stays open only while some item under it is
   * not hidden, so hidden items are never produced and never take a beam: the same set the full
   * ranking metrics leave out. Padding 0 and unknown ids are ignored.
   */
  exclude?: readonly ArrayLike<number>[];
}

/** One user's result: items best first, with their sequence log-probabilities. */
export interface BeamSearchResult {
  readonly items: Int32Array;
  /** Sum over the target tokens of log p(token | prompt, previous tokens), float64. */
  readonly scores: Float64Array;
}

interface Beam {
  node: number;
  score: number;
  row: number;
}

/**
 * Trie-constrained beam search over SID sequences, for a batch of users at once.
 *
 * At every depth each user's live beams are expanded with every trie child that is still open (not
 * fully hidden by `exclude`), scored by the beam's log-probability plus the child's, and the best
 * `beamWidth` expansions are kept (ties: earlier beam, then smaller token, first). After `trie.depth`
 * steps every beam is a leaf, i.e. an item, returned best first. The decoder is asked for one
 * forward per step; the last step needs no forward.
 *
 * Beam search is approximate: a prefix that falls out of the beam is never revisited, so the result
 * is the exact top-k of all items only when `beamWidth` is at least the number of open items
 * (every prefix then fits in the beam). This differs from full ranking, which scores every item.
 *
 * @throws BeamSearchError when `beamWidth` exceeds the number of items, or `topK > beamWidth`
 * @see TIGER (Rajput et al., NeurIPS'23), beam search over semantic IDs; constrained decoding with a
 *   prefix trie as in LC-Rec / LETTER
 */
export async function beamSearch(
  decoder: SidStepDecoder,
  trie: SidTrie,
  users: number,
  opts: BeamSearchOptions,
): Promise<BeamSearchResult[]> {
  const W = opts.beamWidth;
  if (!(Number.isInteger(W) && W >= 1))
    throw new BeamSearchError(`beamSearch: beamWidth must be an integer >= 1, got ${W}`);
  if (W > trie.numItems)
    throw new BeamSearchError(
      `beamSearch: beamWidth ${W} exceeds the number of items in the trie (${trie.numItems}); use at most ${trie.numItems}`,
    );
  const K = opts.topK ?? W;
  if (!(Number.isInteger(K) && K >= 1 && K <= W))
    throw new BeamSearchError(`beamSearch: topK must be an integer in 1..beamWidth (${W}), got ${K}`);
  if (opts.exclude && opts.exclude.length !== users)
    throw new BeamSearchError(`beamSearch: ${opts.exclude.length} exclude lists for ${users} users`);
  const V = decoder.vocabSize;
  const blocked = (opts.exclude ?? []).map((e) => trie.blockedCounts(e));
  const open = (u: number, node: number) => trie.itemCount(node) - (blocked[u]?.get(node) ?? 0) > 0;

  let beams: Beam[][] = Array.from({ length: users }, (_, u) => [{ node: trie.root, score: 0, row: u }]);
  let lp = await decoder.first();
  checkRows(lp, users, V);
  for (let depth = 0; depth < trie.depth; depth++) {
    const nextBeams: Beam[][] = [];
    for (let u = 0; u < users; u++) {
      const cands: { node: number; score: number; parent: number; token: number; order: number }[] = [];
      let order = 0;
      for (const b of beams[u]!) {
        const base = b.row * V;
        for (const [token, child] of trie.children(b.node)) {
          if (!open(u, child)) continue;
          cands.push({
            node: child,
            score: b.score + lp[base + token]!,
            parent: b.row,
            token,
            order: order++,
          });
        }
      }
      cands.sort((a, b) => b.score - a.score || a.order - b.order);
      nextBeams.push(
        cands
          .slice(0, W)
          .map(
            (c) =>
              ({ node: c.node, score: c.score, row: c.parent, token: c.token }) as Beam & { token: number },
          ),
      );
    }
    if (depth === trie.depth - 1) {
      beams = nextBeams;
      break;
    }
    const parents: number[] = [];
    const tokens: number[] = [];
    for (const list of nextBeams)
      for (const b of list as (Beam & { token: number })[]) {
        parents.push(b.row);
        tokens.push(b.token);
        b.row = parents.length - 1;
      }
    beams = nextBeams;
    if (parents.length === 0) break;
    lp = await decoder.next(Int32Array.from(parents), Int32Array.from(tokens));
    checkRows(lp, parents.length, V);
  }
  return beams.map((list) => {
    // A user whose every item is hidden has no beams left (empty result).
    const top = list.filter((b) => trie.item(b.node) !== 0).slice(0, K);
    return {
      items: Int32Array.from(top, (b) => trie.item(b.node)),
      scores: Float64Array.from(top, (b) => b.score),
    };
  });
}

function checkRows(lp: Float32Array, rows: number, V: number): void {
  if (lp.length !== rows * V)
    throw new BeamSearchError(
      `beamSearch: the decoder returned ${lp.length} log-probs, expected ${rows} rows x ${V}`,
    );
}
