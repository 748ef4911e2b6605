// Training rows of speed.ts: mmesid's own training code timed beside a PyTorch peer doing the same
// work from the same initial weights (apps/bench/peers/sasrec.py, rqvae.py). Each row carries both
// sides' settings and a loss check: the peer's loss on the first batch, from mmesid's initial
// weights, next to mmesid's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, trainingSequences } from '@mmesid/datasets';
import { type EmbeddingMatrix, MMRQVAE, trainRqvae } from '@mmesid/rqvae';
import {
  epochBatches,
  SASRec,
  sasrecConfig,
  sasrecLoss,
  saveSasrec,
  trainConfig,
  trainSasrec,
} from '@mmesid/sasrec';
import { initBackend, Rng, saveSafetensors, tf } from '@mmesid/tensor';
import { rqvaeBenchConfig, rqvaeBenchTrain } from './rqvae-config.js';

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

/**
 * MM-RQ-VAE on Beauty's SASRec item table with bench:rqvae-beauty's MMD config: the k-means
 * initialisation (`initCodebooks`) beside a numpy k-means on the same encodings, and one training
 * epoch (`trainRqvae`, maxEpochs 1, from the initialised weights) beside rqvae.py's PyTorch epoch
 * from the same weights on the same batches, at 1 and at 2 threads (mmesid's WASM runs 1 thread).
 */
export async function rqvaeRows(peer: PeerFn, table: EmbeddingMatrix): Promise<Record<string, unknown>[]> {
  const SEED = 42;
  const name = 'collaborative';
  const cfgIn = {
    ...rqvaeBenchConfig(SEED),
    modalities: [{ name, inputDim: table.cols }],
    reconstruction: 'mmd' as const,
  };
  const train = rqvaeBenchTrain(SEED);
  const inputs = { [name]: table };
  const dir = mkdtempSync(join(tmpdir(), 'mmesid-speed-rqvae-'));
  const model = new MMRQVAE(cfgIn);
  try {
    const cfg = model.config;
    const z = await model.encodeTensor(name, table);
    writeFileSync(join(dir, 'z.f32'), bytes((await z.data()) as Float32Array));
    z.dispose();
    const t0 = performance.now();
    await model.initCodebooks(inputs);
    const kmeansSeconds = (performance.now() - t0) / 1000;
    await saveSafetensors(join(dir, 'model.safetensors'), model.stateDict(), { metadata: { format: 'pt' } });
    writeFileSync(join(dir, 'x.f32'), bytes(table.data));
    // The row order of trainRqvae's first epoch.
    const order = Array.from({ length: table.rows }, (_, i) => i);
    new Rng(`${train.seed}:epoch:0`).shuffle(order);
    writeFileSync(join(dir, 'order.i32'), bytes(Int32Array.from(order)));
    const first = tf.tidy(() => {
      const batch = tf.gather(
        tf.tensor2d(table.data, [table.rows, table.cols]),
        tf.tensor1d(order.slice(0, train.batchSize), 'int32'),
      ) as tf.Tensor2D;
      const l = model.losses({ [name]: batch }, { sinkhorn: true });
      return tf.stack([l.total, l.reconstruction[name]!, l.quantization[name]!]);
    });
    const [firstLoss, firstRec, firstQ] = Array.from((await first.data()) as Float32Array);
    first.dispose();
    writeFileSync(
      join(dir, 'meta.json'),
      JSON.stringify({
        config: cfg,
        modality: name,
        rows: table.rows,
        inputDim: table.cols,
        lr: train.lr,
        weightDecay: train.weightDecay,
        betas: [0.9, 0.999],
        eps: 1e-8,
        batchSize: train.batchSize,
      }),
    );
    // Training from the initialised weights: a copy with k-means off, loaded from the state dict.
    const copy = new MMRQVAE({ ...cfgIn, kmeansInit: false });
    copy.loadStateDict(model.stateDict());
    const run = await trainRqvae(copy, inputs, { ...train, maxEpochs: 1 }, { log: null });
    copy.dispose();
    // The same two timings through the optional native BLAS (matmul kernels only; same code).
    let native: { kmeansSeconds: number; epochSeconds: number; meanLoss: number } | undefined;
    const choice = await initBackend({ require: 'wasm', nativeBlas: true, log: false, ignoreEnv: true });
    try {
      if (choice.nativeBlas && !choice.nativeBlas.startsWith('not used')) {
        const fresh = new MMRQVAE(cfgIn);
        const tk = performance.now();
        await fresh.initCodebooks(inputs);
        const kmeansNative = (performance.now() - tk) / 1000;
        fresh.dispose();
        const copy2 = new MMRQVAE({ ...cfgIn, kmeansInit: false });
        copy2.loadStateDict(model.stateDict());
        const run2 = await trainRqvae(copy2, inputs, { ...train, maxEpochs: 1 }, { log: null });
        copy2.dispose();
        native = { kmeansSeconds: kmeansNative, epochSeconds: run2.seconds, meanLoss: run2.history[0]! };
      }
    } finally {
      await initBackend({ require: 'wasm', nativeBlas: false, log: false, ignoreEnv: true });
    }
    const p1 = peer('rqvae.py', ['1', dir]);
    const p2 = peer('rqvae.py', ['2', dir]);
    const settings = {
      rows: table.rows,
      inputDim: table.cols,
      eDim: cfg.eDim,
      hiddenLayers: cfg.hiddenLayers,
      levels: cfg.levels,
      codebookSize: cfg.codebookSize,
      reconstruction: `${cfg.reconstruction} (alpha ${cfg.mmdAlpha}, ${cfg.mmdEstimator})`,
      reconstructionWeight: cfg.reconstructionWeight,
      commitmentWeight: cfg.commitmentWeight,
      sinkhornEpsilons: cfg.sinkhornEpsilons,
      sinkhornIters: cfg.sinkhornIters,
      kmeansIters: cfg.kmeansIters,
      optimizer: `AdamW lr ${train.lr}, weight decay ${train.weightDecay}`,
      batchSize: train.batchSize,
    };
    const t1 = p1.epoch_torch_s as number | undefined;
    const t2 = p2.epoch_torch_s as number | undefined;
    const k1 = p1.kmeans_numpy_s as number | undefined;
    const k2 = p2.kmeans_numpy_s as number | undefined;
    const peerLoss = p1.first_batch_loss as number | undefined;
    return [
      {
        workload: `MM-RQ-VAE training epoch, Beauty SASRec table (${table.rows} x ${table.cols}), bench:rqvae-beauty's MMD config, ${Math.ceil(table.rows / train.batchSize)} batches`,
        settings: {
          ...settings,
          mmesid:
            'trainRqvae, maxEpochs 1, from the k-means-initialised weights; WASM, 1 thread (mmesidNativeBlas*: the same with the optional native BLAS matmul kernels, when built)',
          peer: 'apps/bench/peers/rqvae.py: the same model in PyTorch (functional), same weights, same batch order, torch.optim.AdamW; 1 and 2 threads',
        },
        mmesidSeconds: round(run.seconds),
        mmesidMeanLoss: round(run.history[0]!, 4),
        torch1ThreadSeconds: t1 === undefined ? null : round(t1),
        torch2ThreadsSeconds: t2 === undefined ? null : round(t2),
        torchMeanLoss: p1.epoch_mean_loss === undefined ? null : round(p1.epoch_mean_loss as number, 4),
        ratioToTorch1Thread: t1 ? round(run.seconds / t1, 2) : null,
        ratioToTorch2Threads: t2 ? round(run.seconds / t2, 2) : null,
        ...(native
          ? {
              mmesidNativeBlasSeconds: round(native.epochSeconds),
              mmesidNativeBlasMeanLoss: round(native.meanLoss, 4),
              nativeBlasRatioToTorch1Thread: t1 ? round(native.epochSeconds / t1, 2) : null,
            }
          : {}),
        lossCheck: {
          what: 'total loss (3 x MMD + quantisation, Sinkhorn on) of the first batch from the same weights, before any step',
          mmesid: { total: firstLoss, reconstruction: firstRec, quantization: firstQ },
          torch: {
            total: peerLoss ?? null,
            reconstruction: p1.first_batch_reconstruction ?? null,
            quantization: p1.first_batch_quantization ?? null,
          },
          agree: peerLoss === undefined ? null : close(firstLoss!, peerLoss, 1e-3),
        },
        ...(p1.skipped ? { peerSkipped: p1.skipped } : {}),
        ...(p1.torch_skipped ? { torchSkipped: p1.torch_skipped } : {}),
      },
      {
        workload: `MM-RQ-VAE k-means initialisation: ${cfg.levels} levels x ${cfg.codebookSize} codes, k-means++ then ${cfg.kmeansIters} Lloyd iterations on ${table.rows} encodings of ${cfg.eDim}`,
        settings: {
          mmesid:
            'MMRQVAE.initCodebooks (encoding included); WASM, 1 thread (mmesidNativeBlasSeconds: the same with the optional native BLAS matmul kernels, when built)',
          peer: 'apps/bench/peers/rqvae.py: numpy k-means (same algorithm, numpy RNG) on the same encodings; 1 and 2 threads',
        },
        mmesidSeconds: round(kmeansSeconds),
        numpy1ThreadSeconds: k1 === undefined ? null : round(k1),
        numpy2ThreadsSeconds: k2 === undefined ? null : round(k2),
        ratioToNumpy1Thread: k1 ? round(kmeansSeconds / k1, 2) : null,
        ratioToNumpy2Threads: k2 ? round(kmeansSeconds / k2, 2) : null,
        ...(native
          ? {
              mmesidNativeBlasSeconds: round(native.kmeansSeconds),
              nativeBlasRatioToNumpy1Thread: k1 ? round(native.kmeansSeconds / k1, 2) : null,
            }
          : {}),
        numpyInertiaPerLevel: p1.kmeans_numpy_inertia ?? null,
        ...(p1.skipped ? { peerSkipped: p1.skipped } : {}),
      },
    ];
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
