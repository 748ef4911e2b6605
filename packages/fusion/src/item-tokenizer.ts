import { ConfigError, Linear, MLP, Module, type Rng, ShapeError, tf } from '@mmesid/tensor';
import type { FusionConfig } from './config.js';
import type { ItemTable, SemanticIds } from './item-data.js';
import { SidEmbedding } from './sid-embedding.js';

/** A frozen item table (`weight`, [N + 1, d_m]): registered as a non-trainable parameter so it is saved with the model. */
export class FrozenTable extends Module {
  readonly weight: tf.Variable;
  constructor(table: ItemTable) {
    super();
    this.weight = this.param('weight', tf.tensor2d(table.data, [table.rows, table.cols], 'float32'), false);
  }
}

/** Options of {@link ItemTokenizer}. */
export interface ItemTokenizerOptions {
  config: FusionConfig;
  /** The LLM width d. */
  hidden: number;
  /** Original embeddings per modality, N + 1 rows each (row 0 padding). Frozen. */
  tables: Readonly<Record<string, ItemTable>>;
  /** Semantic IDs per modality, needed when `config.itemToken.sid`. */
  semanticIds?: SemanticIds;
  rng?: Rng;
  skipInit?: boolean;
}

/**
 * Turns item ids into LLM input tokens (embeddings, not token ids). One of three "tokenizers" in
 * mmesid: the LLM's text tokenizer (@mmesid/llama) turns text into token ids; the semantic-ID
 * tokenizer (`SemanticIdTokenizer` of @mmesid/rqvae: the MM-RQ-VAE or RQ-KMeans) turns item
 * embeddings into semantic IDs; this one turns an item id into the one input embedding the LLM reads
 * for it. For each modality m (in config order) the parts are the
 * projection of its frozen original embedding, proj_m(e_m) = W_m e_m + b_m (a trainable Linear
 * d_m -> d), and the sum of its L semantic-ID embeddings (see {@link SidEmbedding}); the parts of all
 * modalities are concatenated, [proj_1, sid_1, ..., proj_M, sid_M] (2M x d), and mapped to one token
 * by an MLP 2Md -> Md -> d with ReLU inside and GELU on the output, as the authors' code does
 * (6d -> 3d -> d). The baselines' settings (raw embeddings, a single Linear, a sum) are options of
 * `config.itemToken`.
 *
 * Module paths: `tables.<m>.weight` (frozen), `proj.<m>.{weight,bias}`, `sid.<m>.{codes,ids}`,
 * `sid.<m>.proj.weight` (learned SID projection), `mlp.layers.{0,1}` or `linear`.
 *
 * @see MME-SID Table 2 (item token); the authors' `model.py` (`self.act(self.mlp(torch.cat([ind, inputs_1, pic, inputs_2, token, inputs_3], dim=2)))`)
 * @example
 * const tok = new ItemTokenizer({ config, hidden: 64, tables, semanticIds, rng: new Rng(0) });
 * const x = tok.forward(tf.tensor1d([5, 9], 'int32')); // [2, 64]
 */
export class ItemTokenizer extends Module {
  readonly modalities: readonly string[];
  readonly hidden: number;
  /** Width of the concatenated parts (2Md for MME-SID). */
  readonly partsWidth: number;
  private readonly cfg: FusionConfig['itemToken'];

  constructor(opts: ItemTokenizerOptions) {
    super();
    const { config, hidden } = opts;
    this.modalities = config.modalities;
    this.hidden = hidden;
    this.cfg = config.itemToken;
    const init = (label: string) =>
      opts.skipInit ? { skipInit: true } : { rng: needRng(opts.rng).fork(label) };
    const tables = this.setModule('tables', new Module());
    const proj = this.setModule('proj', new Module());
    const sid = this.setModule('sid', new Module());
    let width = 0;
    for (const m of this.modalities) {
      const t = opts.tables[m];
      if (!t) throw new ShapeError(`ItemTokenizer: no item table for modality "${m}"`);
      tables.setModule(m, new FrozenTable(t));
      // Shared by the tokens and the fusion head's u.proj_m(e_m) terms, as in the authors' code.
      if (this.cfg.embeddings === 'projected')
        proj.setModule(m, new Linear(t.cols, hidden, init(`proj:${m}`)));
      if (this.cfg.embeddings === 'projected') width += hidden;
      else if (this.cfg.embeddings === 'raw') width += t.cols;
      if (this.cfg.sid) {
        const s = opts.semanticIds?.[m];
        if (!s)
          throw new ShapeError(`ItemTokenizer: no semantic IDs for modality "${m}" (itemToken.sid is on)`);
        if (s.ids.length !== t.rows * s.levels)
          throw new ShapeError(
            `ItemTokenizer: semantic IDs of "${m}" have ${s.ids.length / s.levels} rows, the item table ${t.rows}`,
          );
        sid.setModule(
          m,
          new SidEmbedding(s, hidden, {
            init: config.sid.init,
            projection: config.sid.projection,
            ...(opts.skipInit ? { skipInit: true } : { rng: needRng(opts.rng).fork(`sid:${m}`) }),
          }),
        );
        width += hidden;
      }
    }
    this.partsWidth = width;
    if (this.cfg.combine === 'mlp')
      this.setModule(
        'mlp',
        new MLP([width, this.modalities.length * hidden, hidden], {
          activation: 'relu',
          outputActivation: 'gelu',
          ...init('token-mlp'),
        }),
      );
    else if (this.cfg.combine === 'linear')
      this.setModule('linear', new Linear(width, hidden, init('token-linear')));
  }

  /** The frozen original table of a modality ([N + 1, d_m], the live variable). */
  table(m: string): tf.Variable {
    return (this.getModule(`tables.${m}`) as FrozenTable).weight;
  }

  /**
   * A transposed copy E_m^T [d_m, N + 1] of a frozen table, for scoring all items (see `ScoreHead`).
   * Cached; rebuilt when the table's data changes (`assign`, `loadStateDict`). Owned by this module.
   */
  tableT(m: string): tf.Tensor2D {
    const table = this.table(m);
    const hit = this.transposed.get(m);
    if (hit && hit.source === table.dataId) return hit.t;
    hit?.t.dispose();
    const t = tf.keep(tf.transpose(table) as tf.Tensor2D);
    this.transposed.set(m, { source: table.dataId, t });
    return t;
  }

  /** Frees the cached transposed tables (they are rebuilt on demand). */
  releaseCaches(): void {
    for (const { t } of this.transposed.values()) t.dispose();
    this.transposed.clear();
  }

  override dispose(): void {
    this.releaseCaches();
    super.dispose();
  }

  private readonly transposed = new Map<string, { source: object; t: tf.Tensor2D }>();

  /** The Linear d_m -> d of a modality, if it has one. */
  projection(m: string): Linear | undefined {
    return this.getModule(`proj.${m}`) as Linear | undefined;
  }

  /** The SID embeddings of a modality, if the tokens use SIDs. */
  sidEmbedding(m: string): SidEmbedding | undefined {
    return this.getModule(`sid.${m}`) as SidEmbedding | undefined;
  }

  /** The parts of each item, concatenated: [n, partsWidth]. `items` is int32 [n]. */
  parts(items: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const pieces: tf.Tensor[] = [];
      for (const m of this.modalities) {
        if (this.cfg.embeddings !== 'none') {
          const e = tf.gather(this.table(m), items);
          pieces.push(this.cfg.embeddings === 'projected' ? this.projection(m)!.forward(e) : e);
        }
        if (this.cfg.sid) pieces.push(this.sidEmbedding(m)!.forward(items));
      }
      return (pieces.length === 1 ? pieces[0]! : tf.concat(pieces, 1)) as tf.Tensor2D;
    });
  }

  /** One token per item: [n, d]. `items` is an int32 tensor [n] of ids in 0..N. */
  forward(items: tf.Tensor): tf.Tensor2D {
    if (items.rank !== 1 || items.dtype !== 'int32')
      throw new ShapeError(
        `ItemTokenizer.forward: expected int32 item ids [n], got ${items.dtype} [${items.shape}]`,
      );
    return tf.tidy(() => {
      if (this.cfg.combine === 'sum') {
        let acc: tf.Tensor | null = null;
        for (const m of this.modalities) {
          if (this.cfg.embeddings === 'projected') {
            const p = this.projection(m)!.forward(tf.gather(this.table(m), items));
            acc = acc ? tf.add(acc, p) : p;
          }
          if (this.cfg.sid) {
            const s = this.sidEmbedding(m)!.forward(items);
            acc = acc ? tf.add(acc, s) : s;
          }
        }
        return acc as tf.Tensor2D;
      }
      const x = this.parts(items);
      const combiner = this.childModule(this.cfg.combine === 'mlp' ? 'mlp' : 'linear') as MLP | Linear;
      return combiner.forward(x) as tf.Tensor2D;
    });
  }
}

function needRng(rng: Rng | undefined): Rng {
  if (!rng)
    throw new ConfigError(
      'ItemTokenizer: pass { rng } for a seeded init, or { skipInit: true } before loading weights',
    );
  return rng;
}
