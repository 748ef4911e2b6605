import { AdamW, gatherRows, Rng, Trainer, tf } from '@mmesid/tensor';
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type TrainState } from './checkpoint.js';
import { checkInputs, type ModalityInputs, toTensor } from './data.js';
import { resetDeadCodes } from './dead-codes.js';
import type { MMRQVAE } from './mm-rqvae.js';
import { type EpochReport, progressPrinter } from './progress.js';
import { sumAll } from './sum-tensors.js';
import { parseTrainOptions, type TrainOptionsInput } from './train-options.js';

/** How a run ended and what it reached. */
export interface TrainResult {
  /** Epochs completed (over all resumed runs). */
  epochs: number;
  steps: number;
  /** 0-based epoch whose weights the model holds at the end (the lowest training loss, or validation loss with `validationFraction`). */
  bestEpoch: number;
  bestLoss: number;
  stoppedBy: 'patience' | 'maxEpochs' | 'maxSeconds' | 'callback';
  /** Seconds of training (over all resumed runs), including the k-means initialisation. */
  seconds: number;
  /** Seconds of the k-means initialisation in this run (0 when resumed). */
  initSeconds: number;
  /** Mean training loss per epoch. */
  history: number[];
  /** With `validationFraction`: the held-out items' loss per epoch (the early-stopping criterion). */
  validationHistory?: number[];
  /** With `validationFraction`: how many items were held out. */
  validationItems?: number;
  /** The epoch a checkpoint resumed from, if any. */
  resumedFrom?: number;
}

/** Callbacks of {@link trainRqvae}. */
export interface TrainHooks {
  /** Called after every epoch; return 'stop' to end training (the best weights are still restored). */
  onEpoch?: (report: EpochReport) => unknown;
  /** Replaces the default progress printer (`null` silences it). */
  log?: ((report: EpochReport, last: boolean) => void) | null;
}

/**
 * Trains an MM-RQ-VAE on item embeddings: k-means initialisation of the codebooks on all items'
 * encodings (unless resumed or `kmeansInit` is off), then epochs of seeded shuffled batches with
 * AdamW through `@mmesid/tensor`'s Trainer, the Sinkhorn levels on, early stopping on the
 * training loss with the best epoch's weights restored at the end (the authors keep
 * `best_loss_model.pth`), progress lines, and a checkpoint every `checkpointEvery` epochs that a
 * later call with the same `checkpointDir` resumes from.
 *
 * Determinism: the weight init and k-means come from the config seed, the batch order from the
 * options seed, so the same seeds give the same run on cpu and wasm (up to float rounding).
 *
 * Leaves no tensor allocated besides the model's own.
 *
 * @example
 * const model = new MMRQVAE({ modalities: [{ name: 'collaborative', inputDim: 64 }] });
 * const result = await trainRqvae(model, { collaborative: table }, { maxEpochs: 300, patience: 50 });
 */
export async function trainRqvae(
  model: MMRQVAE,
  inputs: ModalityInputs,
  options: TrainOptionsInput = {},
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const opts = parseTrainOptions(options);
  const n = checkInputs(inputs, model.config.modalities, 'trainRqvae');
  const names = model.modalities;
  const log = hooks.log === undefined ? progressPrinter({ every: opts.logEvery }) : hooks.log;
  // Validation early stopping on held-out items (a seeded choice); the rest train. Before any tensor.
  const held = heldOutItems(n, opts.validationFraction, opts.seed);

  const optimizer = new AdamW(model.trainableParameters(), { lr: opts.lr, weightDecay: opts.weightDecay });
  const trainer = new Trainer({
    optimizer,
    ...(opts.clipNorm !== undefined ? { clipNorm: opts.clipNorm } : {}),
  });
  const tables = new Map(names.map((m) => [m, toTensor(inputs[m]!)]));
  const trainRows = held ? held.train : Array.from({ length: n }, (_, i) => i);
  const trainInputs = held ? subsetInputs(inputs, names, held.train) : inputs;
  const nTrain = trainRows.length;
  let best: Map<string, tf.Tensor> | null = null;
  const state: TrainState = {
    epoch: 0,
    step: 0,
    bestLoss: Number.POSITIVE_INFINITY,
    bestEpoch: -1,
    sinceBest: 0,
    seconds: 0,
    history: [],
    ...(held ? { validationHistory: [] } : {}),
  };
  let resumedFrom: number | undefined;
  let initSeconds = 0;

  try {
    const restored =
      opts.checkpointDir && opts.resume
        ? await loadTrainingCheckpoint(opts.checkpointDir, model, optimizer)
        : null;
    if (restored) {
      Object.assign(state, restored.state);
      if (state.bestLoss === null) state.bestLoss = Number.POSITIVE_INFINITY;
      best = restored.best;
      resumedFrom = state.epoch;
    } else if (model.config.kmeansInit) {
      const t0 = performance.now();
      await model.initCodebooks(trainInputs);
      initSeconds = (performance.now() - t0) / 1000;
      state.seconds += initSeconds;
    }

    let stoppedBy: TrainResult['stoppedBy'] = 'maxEpochs';
    const runStart = performance.now();
    const secondsBefore = state.seconds;
    model.train();
    while (state.epoch < opts.maxEpochs) {
      const epochStart = performance.now();
      const order = trainRows.slice();
      new Rng(`${opts.seed}:epoch:${state.epoch}`).shuffle(order);
      const sums = { loss: 0, reconstruction: 0, quantization: 0, alignment: 0 };
      for (let s = 0; s < nTrain; s += opts.batchSize) {
        const rows = order.slice(s, s + opts.batchSize);
        const idx = tf.tensor1d(rows, 'int32');
        const batch = Object.fromEntries(names.map((m) => [m, gatherRows(tables.get(m)!, idx)]));
        const kept: { parts?: tf.Tensor1D } = {};
        const { loss } = await trainer.step(() => {
          const l = model.losses(batch, { sinkhorn: opts.sinkhorn });
          kept.parts = tf.keep(
            tf.stack([
              sumAll([tf.scalar(0), ...Object.values(l.reconstruction)]),
              sumAll([tf.scalar(0), ...Object.values(l.quantization)]),
              sumAll([tf.scalar(0), ...Object.values(l.alignment)]),
            ]) as tf.Tensor1D,
          );
          return l.total;
        });
        const p = (await kept.parts!.data()) as Float32Array;
        tf.dispose([kept.parts!, idx, ...Object.values(batch)]);
        const w = rows.length / nTrain;
        sums.loss += loss * w;
        sums.reconstruction += p[0]! * w;
        sums.quantization += p[1]! * w;
        sums.alignment += p[2]! * w;
        state.step++;
      }
      if (!Number.isFinite(sums.loss))
        throw new Error(`trainRqvae: the training loss is ${sums.loss} at epoch ${state.epoch + 1}`);
      state.history.push(sums.loss);
      let criterion = sums.loss;
      if (held) {
        criterion = await heldOutLoss(model, tables, names, held.validation, opts);
        if (!Number.isFinite(criterion))
          throw new Error(`trainRqvae: the validation loss is ${criterion} at epoch ${state.epoch + 1}`);
        if (!state.validationHistory) state.validationHistory = [];
        state.validationHistory.push(criterion);
        model.train();
      }
      if (criterion < state.bestLoss) {
        state.bestLoss = criterion;
        state.bestEpoch = state.epoch;
        state.sinceBest = 0;
        if (best) tf.dispose([...best.values()]);
        best = snapshot(model);
      } else {
        state.sinceBest++;
      }
      state.epoch++;
      if (opts.deadCodeEvery > 0 && state.epoch % opts.deadCodeEvery === 0 && state.epoch < opts.maxEpochs) {
        await resetDeadCodes(model, trainInputs, new Rng(`${opts.seed}:dead:${state.epoch}`));
        model.train();
      }
      const now = performance.now();
      state.seconds = secondsBefore + (now - runStart) / 1000;
      const epochSeconds = (now - epochStart) / 1000;
      let stop: TrainResult['stoppedBy'] | null = null;
      if (opts.patience > 0 && state.sinceBest >= opts.patience) stop = 'patience';
      else if (opts.maxSeconds > 0 && state.seconds >= opts.maxSeconds) stop = 'maxSeconds';
      else if (state.epoch >= opts.maxEpochs) stop = 'maxEpochs';
      const report: EpochReport = {
        epoch: state.epoch - 1,
        maxEpochs: opts.maxEpochs,
        loss: sums.loss,
        reconstruction: sums.reconstruction,
        quantization: sums.quantization,
        alignment: sums.alignment,
        bestLoss: state.bestLoss,
        bestEpoch: state.bestEpoch,
        seconds: state.seconds,
        itemsPerSecond: nTrain / epochSeconds,
        etaSeconds: epochSeconds * (opts.maxEpochs - state.epoch),
      };
      if ((await hooks.onEpoch?.(report)) === 'stop' && !stop) stop = 'callback';
      log?.(report, stop !== null);
      if (opts.checkpointDir && (stop !== null || state.epoch % opts.checkpointEvery === 0))
        await saveTrainingCheckpoint(opts.checkpointDir, { model, optimizer, best, state, options: opts });
      if (stop) {
        stoppedBy = stop;
        break;
      }
    }
    if (best) model.loadStateDict(Object.fromEntries(best), { context: 'best epoch snapshot' });
    model.eval();
    return {
      epochs: state.epoch,
      steps: state.step,
      bestEpoch: state.bestEpoch,
      bestLoss: state.bestLoss,
      stoppedBy,
      seconds: state.seconds,
      initSeconds,
      history: state.history,
      ...(held
        ? { validationHistory: state.validationHistory ?? [], validationItems: held.validation.length }
        : {}),
      ...(resumedFrom !== undefined ? { resumedFrom } : {}),
    };
  } finally {
    if (best) tf.dispose([...best.values()]);
    tf.dispose([...tables.values()]);
    trainer.dispose();
    optimizer.dispose();
  }
}

/** Copies of every parameter and buffer (the caller disposes them). */
function snapshot(model: MMRQVAE): Map<string, tf.Tensor> {
  return new Map(Object.entries(model.stateDict()).map(([k, v]) => [k, tf.clone(v)]));
}

/** The seeded split of item rows into training and held-out validation rows (null when fraction is 0). */
function heldOutItems(
  n: number,
  fraction: number,
  seed: number,
): { train: number[]; validation: number[] } | null {
  if (fraction <= 0) return null;
  const k = Math.max(1, Math.round(fraction * n));
  if (k >= n)
    throw new Error(`trainRqvae: validationFraction ${fraction} of ${n} items leaves none to train on`);
  const perm = new Rng(`${seed}:validation`).shuffle(Array.from({ length: n }, (_, i) => i));
  return {
    validation: perm.slice(0, k).sort((a, b) => a - b),
    train: perm.slice(k).sort((a, b) => a - b),
  };
}

/** The rows `rows` of every modality. */
function subsetInputs(
  inputs: ModalityInputs,
  names: readonly string[],
  rows: readonly number[],
): ModalityInputs {
  return Object.fromEntries(
    names.map((m) => {
      const x = inputs[m]!;
      const data = new Float32Array(rows.length * x.cols);
      rows.forEach((r, i) => {
        data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols);
      });
      return [m, { rows: rows.length, cols: x.cols, data }];
    }),
  );
}

/** The mean total loss of the held-out rows, in eval mode, in batches of the training batch size. */
async function heldOutLoss(
  model: MMRQVAE,
  tables: Map<string, tf.Tensor2D>,
  names: readonly string[],
  rows: readonly number[],
  opts: { batchSize: number; sinkhorn: boolean },
): Promise<number> {
  model.eval();
  let total = 0;
  for (let s = 0; s < rows.length; s += opts.batchSize) {
    const part = rows.slice(s, s + opts.batchSize);
    const loss = tf.tidy(() => {
      const idx = tf.tensor1d(part, 'int32');
      const batch = Object.fromEntries(names.map((m) => [m, gatherRows(tables.get(m)!, idx)]));
      return model.losses(batch, { sinkhorn: opts.sinkhorn }).total;
    });
    total += ((await loss.data()) as Float32Array)[0]! * (part.length / rows.length);
    loss.dispose();
  }
  return total;
}
