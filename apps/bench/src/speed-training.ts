// Training rows of speed.ts: mmesid's own training code timed beside a PyTorch peer doing the same
// work from the same initial weights (apps/bench/peers/sasrec.py, rqvae.py). Each row carries both
// sides' settings and a loss check: the peer's loss on the first batch, from mmesid's initial
// weights, next to mmesid's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, trainingSequences } from '@mmesid/datasets';
import {
  epochBatches,
  SASRec,
  sasrecConfig,
  sasrecLoss,
  saveSasrec,
  trainConfig,
  trainSasrec,
} from '@mmesid/sasrec';
import { tf } from '@mmesid/tensor';

/** Runs a peer script with arguments; returns its JSON (or `{ skipped }`). */
export type PeerFn = (script: string, argv: string[]) => Record<string, unknown>;

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
/** |a - b| within `rel` of the larger magnitude. */
export const close = (a: number, b: number, rel = 1e-4) =>
  Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-12);

/**
 * SASRec on Beauty (BCE with one negative per position, batch 128, d 64, 2 blocks, 1 head,
 * maxLen 50, dropout 0.5, Adam 1e-3 (0.9, 0.98)): one epoch of `trainSasrec` (its own length-bucketed
 * batches, each as wide as its longest row; batch building included) beside sasrec.py on the same
 * batches, padded to 50 as pmixer does and at mmesid's widths.
 */
export async function sasrecRow(peer: PeerFn, data: Dataset): Promise<Record<string, unknown>> {
  const train = trainConfig({ epochs: 1, validUsers: 1 });
  const modelCfg = sasrecConfig({ numItems: data.numItems });
  const dir = mkdtempSync(join(tmpdir(), 'mmesid-speed-sasrec-'));
  try {
    // The initial weights trainSasrec starts from (same config, same seed).
    const model = new SASRec(modelCfg, { seed: train.seed });
    await saveSasrec(dir, model);
    const batches = epochBatches(trainingSequences(data), {
      batchSize: train.batchSize,
      maxLen: modelCfg.maxLen,
      negatives: train.negatives,
      seed: train.seed,
      epoch: 1,
      bucketBatches: train.bucketBatches,
    });
    model.eval();
    const l = sasrecLoss(model, batches[0]!, 'bce');
    const firstLoss = (await l.data())[0]!;
    tf.dispose(l);
    model.dispose();
    const total = batches.reduce((s, b) => s + 3 * b.size * b.length, 0);
    const flat = new Int32Array(total);
    let off = 0;
    for (const b of batches) {
      if (b.negatives.length !== b.size * b.length)
        throw new Error('sasrecRow: expected one negative per position');
      for (const part of [b.inputs, b.targets, b.negatives]) {
        flat.set(part, off);
        off += part.length;
      }
    }
    writeFileSync(join(dir, 'batches.i32'), bytes(flat));
    const settings = {
      numItems: data.numItems,
      d: modelCfg.hiddenUnits,
      blocks: modelCfg.numBlocks,
      heads: modelCfg.numHeads,
      maxLen: modelCfg.maxLen,
      dropout: modelCfg.dropout,
      eps: modelCfg.layerNormEps,
      lr: train.lr,
      betas: train.betas,
      adamEps: train.eps,
      batchSize: train.batchSize,
      loss: train.loss,
      negativesPerPosition: train.negatives,
    };
    writeFileSync(
      join(dir, 'meta.json'),
      JSON.stringify({ ...settings, batches: batches.map((b) => [b.size, b.length]) }),
    );

    const run = await trainSasrec({ data, train, progress: null });
    const epoch = run.history[0]!;
    run.model.dispose();
    const p = peer('sasrec.py', ['1', dir]);
    const fixed = p.fixed_s as number | undefined;
    const same = p.same_width_s as number | undefined;
    const lossAgrees =
      p.first_batch_loss_eval_fixed === undefined
        ? null
        : close(firstLoss, p.first_batch_loss_eval_fixed as number) &&
          close(firstLoss, p.first_batch_loss_eval_same_width as number);
    return {
      workload: `SASRec epoch on Beauty (${train.loss.toUpperCase()}, batch ${train.batchSize}, d ${modelCfg.hiddenUnits}, ${modelCfg.numBlocks} blocks), ${batches.length} batches`,
      settings: {
        ...settings,
        mmesid: `trainSasrec, one epoch (epochBatches with bucketBatches ${train.bucketBatches}: each batch as wide as its longest row, mean width ${round(batches.reduce((s, b) => s + b.length, 0) / batches.length, 1)}); batch building included, validation excluded; WASM, 1 thread`,
        peer: 'apps/bench/peers/sasrec.py: PyTorch SASRec in the shape of pmixer/SASRec.pytorch on the same batches and negatives, Adam, 1 thread; "fixed": every batch padded to maxLen (pmixer), "same width": mmesid\'s widths',
      },
      mmesidSeconds: round(epoch.seconds),
      mmesidMeanLoss: round(epoch.loss, 4),
      torchFixedWidthSeconds: fixed === undefined ? null : round(fixed),
      torchSameWidthSeconds: same === undefined ? null : round(same),
      torchMeanLoss: p.same_width_mean_loss === undefined ? null : round(p.same_width_mean_loss as number, 4),
      ratioToTorchFixedWidth: fixed ? round(epoch.seconds / fixed, 2) : null,
      ratioToTorchSameWidth: same ? round(epoch.seconds / same, 2) : null,
      lossCheck: {
        what: 'BCE loss of the first batch in eval mode (no dropout) from the same initial weights',
        mmesid: firstLoss,
        torchFixedWidth: p.first_batch_loss_eval_fixed ?? null,
        torchSameWidth: p.first_batch_loss_eval_same_width ?? null,
        agree: lossAgrees,
      },
      ...(p.skipped ? { peerSkipped: p.skipped } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function rqvaeRows(_peer: PeerFn, _table: unknown): Promise<Record<string, unknown>[]> {
  return [];
}
