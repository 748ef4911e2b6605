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

/**
 * A new item-ID table of one modality (the paper's E'_m), randomly initialised N(0, 1) like
 * PyTorch's `nn.Embedding`, trainable: `weight` [N + 1, width], followed by its own Linear
 * (`proj`, width -> d, with bias) when `project` is set. ME adds it beside the projected SASRec
 * table, SE-random uses it alone, MME-random puts it (d wide, no map) where MME-SID has its SID
 * embeddings.
 */
export class IdTable extends Module {
  readonly weight: tf.Variable;
  constructor(
    rows: number,
    width: number,
    outDim: number,
    project: boolean,
    init: { rng: Rng } | { skipInit: true },
  ) {
    super();
    const w =
      'rng' in init
        ? tf.tensor2d(init.rng.fork('id-table').fillNormal(new Float32Array(rows * width), 0, 1), [
            rows,
            width,
          ])
        : tf.zeros([rows, width]);
    this.weight = this.param('weight', w);
    if (project)
      this.setModule(
        'proj',
        new Linear(width, outDim, 'rng' in init ? { rng: init.rng.fork('id-proj') } : { skipInit: true }),
      );
  }

  /** The map width -> d, when there is one. */
  get projection(): Linear | undefined {
    return this.childModule('proj') as Linear | undefined;
  }

  /** Each item's part: [n, d]. */
  forward(items: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const e = tf.gather(this.weight, items);
      const p = this.projection;
      return (p ? p.forward(e) : e) as tf.Tensor2D;
    });
  }
}

/** Options of {@link ItemTokenizer}. */
export interface ItemTokenizerOptions {
  config: FusionConfig;
  /** The LLM width d. */
  hidden: number;
  /** The largest item id N (tables have N + 1 rows, row 0 padding). */
  numItems: number;
  /**
   * Original embeddings per modality, N + 1 rows each (row 0 padding), frozen. Only the modalities
   * of `tableModalities(config)` are kept (none when `itemToken.embeddings` is `'none'`); a
   * `'projected'` ID table without `itemToken.idDim` reads the width (only) of its modality's table.
   */
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
 * embeddings into semantic IDs; this one turns an item id into the LLM input embedding(s) for it.
 * For each modality m (in config order) the parts are, as
 * configured: the projection of its frozen original embedding, proj_m(e_m) = W_m e_m + b_m (a
 * trainable Linear d_m -> d; `'raw'` passes e_m itself), the sum of its L semantic-ID embeddings
 * (see {@link SidEmbedding}), and a new random ID table (see {@link IdTable}). With P the
 * concatenation of every modality's parts, `[proj_1, sid_1, id_1, ..., proj_M, sid_M, id_M]`, the
 * token is (by `itemToken.combine`):
 *
 * - `'mlp'`: GELU(W_2 ReLU(W_1 P + c_1) + c_2), the authors' MLP P -> M d -> d (6d -> 3d -> d for
 *   MME-SID's three modalities);
 * - `'linear'`: W P + c (one Linear P -> d);
 * - `'sum'`: the sum of the parts (each d wide);
 * - `'tokens'`: no combination: every part is its own token, so an item is {@link tokensPerItem}
 *   consecutive tokens in the prompt (Concat's "three tokens per item" reading).
 *
 * Module paths: `tables.<m>.weight` (frozen), `proj.<m>.{weight,bias}`, `sid.<m>.{codes,ids}`,
 * `sid.<m>.proj.weight` (learned SID projection), `id.<m>.weight`, `id.<m>.proj.{weight,bias}`,
 * `mlp.layers.{0,1}` or `linear`.
 *
 * @see MME-SID Table 2 (item token); the authors' `model.py` (`self.act(self.mlp(torch.cat([ind, inputs_1, pic, inputs_2, token, inputs_3], dim=2)))`)
 * @example
 * const tok = new ItemTokenizer({ config, hidden: 64, numItems, tables, semanticIds, rng: new Rng(0) });
 * const x = tok.forward(tf.tensor1d([5, 9], 'int32')); // [2 * tok.tokensPerItem, 64]
 */
export class ItemTokenizer extends Module {
  readonly modalities: readonly string[];
  readonly hidden: number;
  /** Width of the concatenated parts (2Md for MME-SID). */
  readonly partsWidth: number;
  /** LLM tokens per item: 1, or the number of parts with `combine 'tokens'`. */
  readonly tokensPerItem: number;
  private readonly cfg: FusionConfig['itemToken'];

  constructor(opts: ItemTokenizerOptions) {
    super();
    const { config, hidden } = opts;
    this.modalities = config.modalities;
    this.hidden = hidden;
    this.cfg = config.itemToken;
    const init = (label: string) =>
      opts.skipInit ? { skipInit: true as const } : { rng: needRng(opts.rng).fork(label) };
    const tables = this.setModule('tables', new Module());
    const proj = this.setModule('proj', new Module());
    const sid = this.setModule('sid', new Module());
    const ids = this.setModule('id', new Module());
    // Check every input before creating a tensor, so a refusal leaks nothing.
    for (const m of this.modalities) {
      if (this.cfg.embeddings !== 'none' && !opts.tables[m])
        throw new ShapeError(`ItemTokenizer: no item table for modality "${m}"`);
      if (this.cfg.sid) {
        const s = opts.semanticIds?.[m];
        if (!s)
          throw new ShapeError(`ItemTokenizer: no semantic IDs for modality "${m}" (itemToken.sid is on)`);
        if (s.ids.length !== (opts.numItems + 1) * s.levels)
          throw new ShapeError(
            `ItemTokenizer: semantic IDs of "${m}" have ${s.ids.length / s.levels} rows, expected numItems + 1 = ${opts.numItems + 1}`,
          );
      }
      if (this.cfg.idTable === 'projected' && this.cfg.idDim === undefined && !opts.tables[m])
        throw new ShapeError(
          `ItemTokenizer: the ID table of "${m}" needs itemToken.idDim (no "${m}" table to take the width from)`,
        );
    }
    let width = 0;
    let parts = 0;
    for (const m of this.modalities) {
      const t = opts.tables[m];
      if (this.cfg.embeddings !== 'none') {
        tables.setModule(m, new FrozenTable(t!));
        parts++;
      }
      // Shared by the tokens and the fusion head's u.proj_m(e_m) terms, as in the authors' code.
      if (this.cfg.embeddings === 'projected') {
        proj.setModule(m, new Linear(t!.cols, hidden, init(`proj:${m}`)));
        width += hidden;
      } else if (this.cfg.embeddings === 'raw') width += t!.cols;
      if (this.cfg.sid) {
        sid.setModule(
          m,
          new SidEmbedding(opts.semanticIds![m]!, hidden, {
            init: config.sid.init,
            projection: config.sid.projection,
            ...init(`sid:${m}`),
          }),
        );
        width += hidden;
        parts++;
      }
      if (this.cfg.idTable !== 'none') {
        const project = this.cfg.idTable === 'projected';
        const w = project ? (this.cfg.idDim ?? t!.cols) : hidden;
        ids.setModule(m, new IdTable(opts.numItems + 1, w, hidden, project, init(`id:${m}`)));
        width += hidden;
        parts++;
      }
    }
    this.partsWidth = width;
    this.tokensPerItem = this.cfg.combine === 'tokens' ? parts : 1;
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

  /** True when the tokens read modality m's pre-trained table. */
  hasTable(m: string): boolean {
    return this.getModule(`tables.${m}`) !== undefined;
  }

  /** The frozen original table of a modality ([N + 1, d_m], the live variable). */
  table(m: string): tf.Variable {
    const t = this.getModule(`tables.${m}`) as FrozenTable | undefined;
    if (!t)
      throw new ShapeError(
        `ItemTokenizer: no pre-trained table for "${m}" (itemToken.embeddings is "${this.cfg.embeddings}")`,
      );
    return t.weight;
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

  /** The new random ID table of a modality, if the tokens use one. */
  idTable(m: string): IdTable | undefined {
    return this.getModule(`id.${m}`) as IdTable | undefined;
  }

  /** Each item's parts in order, every one [n, width]. */
  private partList(items: tf.Tensor): tf.Tensor2D[] {
    const pieces: tf.Tensor2D[] = [];
    for (const m of this.modalities) {
      if (this.cfg.embeddings !== 'none') {
        const e = tf.gather(this.table(m), items) as tf.Tensor2D;
        pieces.push(
          this.cfg.embeddings === 'projected' ? (this.projection(m)!.forward(e) as tf.Tensor2D) : e,
        );
      }
      if (this.cfg.sid) pieces.push(this.sidEmbedding(m)!.forward(items));
      if (this.cfg.idTable !== 'none') pieces.push(this.idTable(m)!.forward(items));
    }
    return pieces;
  }

  /** The parts of each item, concatenated: [n, partsWidth]. `items` is int32 [n]. */
  parts(items: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const pieces = this.partList(items);
      return (pieces.length === 1 ? pieces[0]! : tf.concat(pieces, 1)) as tf.Tensor2D;
    });
  }

  /**
   * The tokens of the items, item-major: [n * tokensPerItem, d] (item i's tokens are rows
   * i * k .. i * k + k - 1). `items` is an int32 tensor [n] of ids in 0..N.
   */
  forward(items: tf.Tensor): tf.Tensor2D {
    if (items.rank !== 1 || items.dtype !== 'int32')
      throw new ShapeError(
        `ItemTokenizer.forward: expected int32 item ids [n], got ${items.dtype} [${items.shape}]`,
      );
    return tf.tidy(() => {
      if (this.cfg.combine === 'sum') {
        const pieces = this.partList(items);
        return (pieces.length === 1 ? pieces[0]! : tf.addN(pieces)) as tf.Tensor2D;
      }
      if (this.cfg.combine === 'tokens') {
        const pieces = this.partList(items);
        return tf.reshape(tf.stack(pieces, 1), [-1, this.hidden]) as tf.Tensor2D;
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
