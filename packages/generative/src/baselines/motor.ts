import type { TrainingSequences } from '@mmesid/datasets';
import {
  epochBatches,
  SASRec,
  type SasrecConfigInput,
  type SasrecLossName,
  sasrecLoss,
} from '@mmesid/sasrec';
import { AdamW, ConfigError, gatherRows, Module, Rng, ShapeError, Trainer, tf } from '@mmesid/tensor';
import type { SidSegmentCodes } from '../sid-vocabulary.js';

/** Options of {@link MotorModel}. */
export interface MotorOptions {
  /** The downstream SASRec (`numItems` must match the codes' rows - 1; `hiddenUnits` is the width d). */
  sasrec: SasrecConfigInput;
  /** Semantic IDs of the modalities whose token embeddings make an item (MOTOR: text and visual). */
  segments: Readonly<Record<string, SidSegmentCodes>>;
  /**
   * `'random'` (default): N(0, 0.02^2); `'codebook'`: level-l code c starts at the tokenizer's codebook
   * vector, mapped to d by a fixed seeded Gaussian projection when widths differ.
   */
  init?: 'random' | 'codebook';
  seed?: number;
}

/**
 * MOTOR as MME-SID compares it (Table 3): SASRec whose item embedding is not an ID table but the sum
 * of the item's semantic-ID token embeddings over modalities and levels,
 * e_i = sum_m sum_l E_m[l, c^l_m(i)], so items that share codes share parameters. The SASRec is
 * `@mmesid/sasrec`'s, fed through its `itemRows`/`itemTable` inputs; its own `item_emb` is frozen and
 * unused. Parameters: `sasrec.*`, `sid_<modality>` [L * K, d].
 *
 * @see MME-SID Sec. 5.3 (MOTOR baseline); SASRec (Kang & McAuley 2018)
 */
export class MotorModel extends Module {
  readonly numItems: number;
  readonly segmentNames: readonly string[];
  private readonly idTables = new Map<string, tf.Tensor2D>();
  /** Host copies of the offset tables ([N + 1, L] row-major), for the batch-local path. */
  private readonly hostOffsets = new Map<string, { offs: Int32Array; levels: number }>();

  constructor(opts: MotorOptions) {
    super();
    const sas = this.setModule('sasrec', new SASRec(opts.sasrec, { seed: opts.seed ?? 0 }));
    sas.getModule('item_emb')!.setTrainable(false);
    const N = sas.config.numItems;
    const d = sas.config.hiddenUnits;
    this.numItems = N;
    this.segmentNames = Object.keys(opts.segments);
    if (this.segmentNames.length === 0) throw new ConfigError('MotorModel: no SID segments given');
    const rng = new Rng(`motor:${opts.seed ?? 0}`);
    for (const [name, s] of Object.entries(opts.segments)) {
      const { levels: L, codebookSize: K } = s;
      if (s.ids.length !== (N + 1) * L)
        throw new ShapeError(
          `MotorModel: segment "${name}" has ${s.ids.length / L} rows, SASRec numItems ${N} needs ${N + 1}`,
        );
      const offs = new Int32Array(s.ids.length);
      for (let i = 0; i < offs.length; i++) {
        const c = s.ids[i]!;
        if (!(c >= 0 && c < K))
          throw new ShapeError(`MotorModel: segment "${name}" code ${c} outside 0..${K - 1}`);
        offs[i] = (i % L) * K + c;
      }
      this.hostOffsets.set(name, { offs, levels: L });
      this.idTables.set(
        name,
        this.buffer(`ids_${name}`, tf.tensor2d(offs, [N + 1, L], 'int32')) as tf.Tensor2D,
      );
      let init: Float32Array;
      if ((opts.init ?? 'random') === 'codebook') {
        if (!s.codebooks || !s.dim)
          throw new ConfigError(`MotorModel: init "codebook" needs codebooks for "${name}"`);
        const e = s.dim;
        const R =
          e === d ? null : rng.fork(`proj:${name}`).fillNormal(new Float32Array(e * d), 0, 1 / Math.sqrt(d));
        init = new Float32Array(L * K * d);
        for (let r = 0; r < L * K; r++)
          for (let j = 0; j < d; j++) {
            if (!R) init[r * d + j] = s.codebooks[r * e + j]!;
            else {
              let acc = 0;
              for (let k = 0; k < e; k++) acc += s.codebooks[r * e + k]! * R[k * d + j]!;
              init[r * d + j] = acc;
            }
          }
      } else init = rng.fork(`init:${name}`).fillNormal(new Float32Array(L * K * d), 0, 0.02);
      this.param(`sid_${name}`, tf.tensor2d(init, [L * K, d]));
    }
  }

  get sasrec(): SASRec {
    return this.childModule('sasrec') as SASRec;
  }

  /** The item table [N + 1, d]: each item's summed SID token embeddings; row 0 (padding) is zero. */
  itemTable(): tf.Tensor2D {
    return tf.tidy(() => {
      const parts = this.segmentNames.map((name) => {
        const ids = this.idTables.get(name)!;
        const [rows, L] = ids.shape;
        const table = this._params.get(`sid_${name}`)!;
        const d = table.shape[1]!;
        return tf.sum(tf.reshape(tf.gather(table, tf.reshape(ids, [-1])), [rows, L, d]), 1);
      });
      const sum = parts.length === 1 ? parts[0]! : tf.addN(parts);
      const mask = tf.concat([tf.zeros([1, 1]), tf.ones([this.numItems, 1])]);
      return tf.mul(sum, mask) as tf.Tensor2D;
    });
  }

  /**
   * Rows of the item table for the given item ids, [ids.length, d]: each the sum of its SID token
   * embeddings over modalities and levels, id 0 (padding) zero. Equal to gathering `ids` from
   * {@link itemTable}, but it touches only the L * segments token rows per id (and so does its
   * gradient), not the whole catalogue.
   */
  itemRows(ids: Int32Array): tf.Tensor2D {
    for (const id of ids)
      if (!(Number.isInteger(id) && id >= 0 && id <= this.numItems))
        throw new ShapeError(`MotorModel.itemRows: item ${id} outside 0..${this.numItems}`);
    return tf.tidy(() => {
      const parts = this.segmentNames.map((name) => {
        const { offs, levels: L } = this.hostOffsets.get(name)!;
        const flat = new Int32Array(ids.length * L);
        for (let r = 0; r < ids.length; r++) flat.set(offs.subarray(ids[r]! * L, (ids[r]! + 1) * L), r * L);
        const table = this._params.get(`sid_${name}`)!;
        const d = table.shape[1]!;
        return tf.sum(
          tf.reshape(gatherRows(table as tf.Tensor2D, tf.tensor1d(flat, 'int32')), [ids.length, L, d]),
          1,
        );
      });
      const sum = parts.length === 1 ? parts[0]! : tf.addN(parts);
      const mask = tf.tensor2d(
        Float32Array.from(ids, (id) => (id === 0 ? 0 : 1)),
        [ids.length, 1],
      );
      return tf.mul(sum, mask) as tf.Tensor2D;
    });
  }

  /**
   * SASRec's training loss over a batch, with the SID-sum table for inputs and outputs.
   * `table: 'batch'` (default for `bce` and `sampled-softmax`) builds only the rows of the items the
   * batch names (inputs, positives, negatives), renumbers the batch onto them and runs the same
   * `sasrecLoss`; `'full'` builds the whole [N + 1, d] table every call (the `ce` loss always does:
   * its softmax spans the catalogue). Both give the same loss and gradients up to float32 summation
   * order (tested).
   */
  loss(
    batch: Parameters<typeof sasrecLoss>[1],
    lossName: SasrecLossName = 'bce',
    opts: { table?: 'batch' | 'full' } = {},
  ): tf.Scalar {
    if (lossName === 'ce' || opts.table === 'full')
      return tf.tidy(() => sasrecLoss(this.sasrec, batch, lossName, this.itemTable()));
    const local = batchLocal(batch, lossName === 'sampled-softmax');
    return tf.tidy(() => sasrecLoss(this.sasrec, local.batch, lossName, this.itemRows(local.ids)));
  }

  /**
   * Scores of every item 0..N for histories (most recent `maxLen` items kept, left-padded): [B, N + 1].
   * The caller disposes the result; rank it with `@mmesid/metrics` (full ranking). `table`: an
   * {@link itemTable} built once for many calls while the weights do not change (else built here).
   */
  scores(histories: readonly ArrayLike<number>[], table?: tf.Tensor2D): tf.Tensor2D {
    const n = this.sasrec.config.maxLen;
    const ids = new Int32Array(histories.length * n);
    histories.forEach((h, b) => {
      const items = Array.from(h)
        .filter((x) => x !== 0)
        .slice(-n);
      ids.set(items, b * n + n - items.length);
    });
    if (table && (table.shape[0] !== this.numItems + 1 || table.shape[1] !== this.sasrec.config.hiddenUnits))
      throw new ShapeError(
        `MotorModel.scores: table [${table.shape}] is not the item table [${this.numItems + 1}, ${this.sasrec.config.hiddenUnits}]`,
      );
    return tf.tidy(() => {
      const items = table ?? this.itemTable();
      const idT = tf.tensor2d(ids, [histories.length, n], 'int32');
      const rows = tf.reshape(tf.gather(items, tf.reshape(idT, [-1])), [histories.length, n, -1]);
      const h = this.sasrec.forward(idT, rows);
      const last = tf.reshape(tf.slice(h, [0, n - 1, 0], [-1, 1, -1]), [histories.length, -1]) as tf.Tensor2D;
      return tf.matMul(last, items, false, true) as tf.Tensor2D;
    });
  }
}

/**
 * A batch renumbered onto the items it names: `ids` lists them (ascending, 0 first, so padding stays
 * 0 and SASRec's padding mask is unchanged) and every item field of `batch` holds an index into `ids`.
 */
function batchLocal(
  batch: Parameters<typeof sasrecLoss>[1],
  withShared: boolean,
): { ids: Int32Array; batch: Parameters<typeof sasrecLoss>[1] } {
  const shared = withShared ? batch.shared : undefined;
  const seen = new Set<number>([0]);
  for (const a of [batch.inputs, batch.targets, batch.negatives, shared?.ids ?? new Int32Array(0)])
    for (const x of a) seen.add(x);
  const ids = Int32Array.from(seen).sort();
  const index = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) index.set(ids[i]!, i);
  const remap = (a: Int32Array) => Int32Array.from(a, (x) => index.get(x)!);
  return {
    ids,
    batch: {
      ...batch,
      inputs: remap(batch.inputs),
      targets: remap(batch.targets),
      negatives: remap(batch.negatives),
      ...(shared ? { shared: { ...shared, ids: remap(shared.ids) } } : {}),
    },
  };
}

/** Options of {@link trainMotor}. */
export interface TrainMotorOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Negatives per position for the BCE loss (default 1, as SASRec). */
  negatives?: number;
  loss?: SasrecLossName;
  seed?: number;
  /**
   * Group users of similar length into a batch (`@mmesid/sasrec`'s `epochBatches` option: windows of
   * this many batches sorted by length, batch order shuffled), so a batch is only as wide as its
   * longest row. Default 50, as `trainSasrec`; 0 gives plain shuffled batches (before 0.x: the only
   * behaviour). It changes which users share a batch, not the loss any user contributes.
   */
  bucketBatches?: number;
  /** Which item table {@link MotorModel.loss} builds (default `'batch'`; `'full'` is the reference path). */
  table?: 'batch' | 'full';
  onEpoch?: (e: { epoch: number; loss: number }) => void;
}

/** Trains MOTOR on the all-positions form of the training split (`trainingSequences` of @mmesid/datasets). Returns each epoch's mean loss. */
export async function trainMotor(
  model: MotorModel,
  training: TrainingSequences,
  opts: TrainMotorOptions = {},
): Promise<number[]> {
  const optimizer = new AdamW(model.trainableParameters(), { lr: opts.lr ?? 1e-3, weightDecay: 0 });
  const trainer = new Trainer({ optimizer });
  const out: number[] = [];
  const wasTraining = model.training;
  model.train();
  try {
    for (let epoch = 0; epoch < (opts.epochs ?? 1); epoch++) {
      model.sasrec.dropoutRng = new Rng(`motor/dropout/${opts.seed ?? 0}/${epoch}`);
      const batches = epochBatches(training, {
        batchSize: opts.batchSize ?? 128,
        maxLen: model.sasrec.config.maxLen,
        negatives: opts.negatives ?? 1,
        seed: opts.seed ?? 0,
        epoch,
        bucketBatches: opts.bucketBatches ?? 50,
      });
      let sum = 0;
      const lossOpts = { table: opts.table ?? 'batch' };
      for (const b of batches)
        sum += (await trainer.step(() => model.loss(b, opts.loss ?? 'bce', lossOpts))).loss;
      out.push(sum / Math.max(1, batches.length));
      opts.onEpoch?.({ epoch, loss: out[out.length - 1]! });
    }
  } finally {
    trainer.dispose();
    optimizer.dispose();
    model.train(wasTraining);
  }
  return out;
}
