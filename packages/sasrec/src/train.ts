import { formatDuration, type ProgressStream } from '@mmesid/core';
import { type Dataset, type Example, leaveOneOut, trainingSequences } from '@mmesid/datasets';
import { flattenRankingMetrics } from '@mmesid/metrics';
import {
  AdamW,
  ConfigError,
  type FoundTrainingCheckpoint,
  Rng,
  readTrainingCheckpoint,
  restoreTrainingCheckpoint,
  saveTrainingCheckpoint,
  TRAINING_CHECKPOINT_FILES,
  Trainer,
  tf,
} from '@mmesid/tensor';
import { epochBatches } from './batches.js';
import { type SasrecConfigInput, sasrecConfig } from './config.js';
import { evaluateRanking } from './evaluate.js';
import { sasrecLoss } from './loss.js';
import { SASRec } from './model.js';
import { TrainingProgress } from './progress.js';
import { sasrecScorer } from './sasrec-scorer.js';
import { type TrainConfig, type TrainConfigInput, trainConfig } from './train-config.js';
import {
  type EpochRecord,
  SASREC_CHECKPOINT_FORMAT,
  type TrainingState,
  trainingStateProblem,
} from './training-state.js';

/** Options of {@link trainSasrec}. */
export interface TrainSasrecOptions {
  /** The dataset; the authors' leave-one-out split is made from it (train on `items[:-2]`, validate on `items[-2]`). */
  data: Pick<Dataset, 'sequences' | 'numItems'>;
  /** Architecture overrides (d, blocks, heads, maxLen, dropout); `numItems` comes from `data`. */
  model?: Omit<SasrecConfigInput, 'numItems'>;
  train?: TrainConfigInput;
  /**
   * Where to keep a resumable checkpoint (written after every epoch). If it already holds one made
   * with the same architecture and recipe, training resumes from it.
   */
  checkpointDir?: string;
  /** Progress lines (default: `process.stderr` in Node; null for silence). */
  progress?: ProgressStream | null;
  /** Called after every epoch (after validation and checkpointing). */
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
}

/** What {@link trainSasrec} returns. The model belongs to the caller (`model.dispose()`). */
export interface TrainSasrecResult {
  /** The trained model in eval mode, holding the best validated weights when `restoreBest` is set. */
  model: SASRec;
  history: EpochRecord[];
  best: TrainingState['best'];
  stoppedBy: 'epochs' | 'patience' | 'time';
  epochsDone: number;
  /** Seconds spent in training steps (validation excluded), across resumptions. */
  trainSeconds: number;
  /** Training + validation seconds, across resumptions. */
  elapsedSeconds: number;
  /** Training positions per second of training time. */
  examplesPerSecond: number;
  /** The epoch the run resumed after, or null for a fresh run. */
  resumedFrom: number | null;
  config: TrainConfig;
}

/** Recipe fields that must not change when a run is resumed. */
const FIXED_ON_RESUME = [
  'seed',
  'batchSize',
  'lr',
  'betas',
  'eps',
  'weightDecay',
  'clipNorm',
  'loss',
  'negatives',
  'sharedNegatives',
  'bucketBatches',
  'evalEvery',
  'validUsers',
] as const;

function defaultSink(): ProgressStream | null {
  const p = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  return p?.stderr ?? null;
}

function validationSample(valid: Example[], users: number | undefined, seed: number): Example[] {
  if (users === undefined || users >= valid.length) return valid;
  const pick = new Rng(`sasrec/valid/${seed}`).permutation(valid.length).subarray(0, users);
  return Array.from(pick)
    .sort((a, b) => a - b)
    .map((i) => valid[i]!);
}

function cloneWeights(model: SASRec): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) out[k] = tf.clone(v);
  return out;
}

/**
 * Trains SASRec the reference way (Adam, BCE with sampled negatives over every position of each
 * user's training part, batches of users) with validation by full ranking every `evalEvery`
 * epochs, early stopping on nDCG@10 after `patience` validations without improvement, an optional
 * wall-time budget, progress lines, and a checkpoint after every epoch that a later call resumes.
 * Deterministic in the seed (on cpu and wasm).
 *
 * @example
 * const beauty = await loadAuthorsDataset('/data/beauty');
 * const { model, best } = await trainSasrec({ data: beauty, checkpointDir: 'runs/sasrec-beauty' });
 * const test = await evaluateRanking(sasrecScorer(model), leaveOneOut(beauty).test);
 */
export async function trainSasrec(options: TrainSasrecOptions): Promise<TrainSasrecResult> {
  const cfg = trainConfig(options.train);
  if (cfg.sharedNegatives > 0 && cfg.loss !== 'sampled-softmax')
    throw new ConfigError(
      `SASRec training config: sharedNegatives needs loss "sampled-softmax", not "${cfg.loss}"`,
    );
  const modelCfg = sasrecConfig({ ...options.model, numItems: options.data.numItems });
  const training = trainingSequences(options.data);
  const valid = validationSample(leaveOneOut(options.data).valid, cfg.validUsers, cfg.seed);
  const progress = new TrainingProgress(options.progress === undefined ? defaultSink() : options.progress);

  const model = new SASRec(modelCfg, { seed: cfg.seed });
  const optimizer = new AdamW(model.trainableParameters(), {
    lr: cfg.lr,
    betas: cfg.betas,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
  });
  const trainer = new Trainer({
    optimizer,
    ...(cfg.clipNorm !== undefined ? { clipNorm: cfg.clipNorm } : {}),
  });
  let state: TrainingState = {
    model: modelCfg,
    train: cfg,
    epochsDone: 0,
    optimizerStep: 0,
    rng: {
      seed: cfg.seed,
      nextEpoch: 1,
      streams: [
        'sasrec/init/<seed>',
        'sasrec/batches/<seed>/<epoch>',
        'negatives/<seed>/<epoch>',
        'sasrec/dropout/<seed>/<epoch>',
      ],
    },
    best: null,
    badEvals: 0,
    history: [],
    elapsedSeconds: 0,
  };
  let best: Record<string, tf.Tensor> | null = null;
  let resumedFrom: number | null = null;

  try {
    if (options.checkpointDir) {
      const found: FoundTrainingCheckpoint<TrainingState> | null = await readTrainingCheckpoint(
        options.checkpointDir,
        SASREC_CHECKPOINT_FORMAT,
      );
      if (found) {
        const problem = trainingStateProblem(found.state);
        if (problem)
          throw new ConfigError(
            `${found.dir}/${TRAINING_CHECKPOINT_FILES.state}: ${problem}; the checkpoint is damaged: delete ${found.dir} to start over`,
          );
        const diff = Object.keys(modelCfg).filter(
          (k) =>
            JSON.stringify(modelCfg[k as keyof typeof modelCfg]) !==
            JSON.stringify(found.state.model[k as keyof typeof modelCfg]),
        );
        diff.push(
          ...FIXED_ON_RESUME.filter((k) => JSON.stringify(cfg[k]) !== JSON.stringify(found.state.train[k])),
        );
        if (diff.length)
          throw new ConfigError(
            `${found.dir}: this checkpoint was made with a different ${diff.join(', ')}; ` +
              'use another checkpointDir or the same settings',
          );
        const restored = await restoreTrainingCheckpoint(found, optimizer);
        try {
          model.loadStateDict(Object.fromEntries(restored.weights), {
            context: `${found.dir}/${TRAINING_CHECKPOINT_FILES.weights}`,
          });
        } finally {
          tf.dispose([...restored.weights.values()]);
        }
        best = restored.best ? Object.fromEntries(restored.best) : null;
        state = { ...found.state, train: cfg };
        resumedFrom = state.epochsDone;
        progress.line(`resuming after epoch ${state.epochsDone} from ${found.dir}`);
      }
    }

    let stoppedBy: TrainSasrecResult['stoppedBy'] = 'epochs';
    const timeUp = () => cfg.maxMinutes !== undefined && state.elapsedSeconds >= cfg.maxMinutes * 60;
    if (state.best && state.badEvals >= cfg.patience) stoppedBy = 'patience';
    else if (timeUp()) stoppedBy = 'time';
    for (let epoch = state.epochsDone + 1; epoch <= cfg.epochs && stoppedBy === 'epochs'; epoch++) {
      const t0 = performance.now();
      model.train();
      model.dropoutRng = new Rng(`sasrec/dropout/${cfg.seed}/${epoch}`);
      const batches = epochBatches(training, {
        batchSize: cfg.batchSize,
        maxLen: modelCfg.maxLen,
        negatives:
          cfg.loss === 'ce' || (cfg.loss === 'sampled-softmax' && cfg.sharedNegatives > 0)
            ? 0
            : cfg.negatives,
        sharedNegatives: cfg.loss === 'sampled-softmax' ? cfg.sharedNegatives : 0,
        seed: cfg.seed,
        epoch,
        bucketBatches: cfg.bucketBatches,
      });
      progress.startEpoch(epoch, cfg.epochs, batches.length);
      let lossSum = 0;
      let examples = 0;
      for (let i = 0; i < batches.length; i++) {
        const b = batches[i]!;
        const r = await trainer.step(() => sasrecLoss(model, b, cfg.loss));
        if (!Number.isFinite(r.loss))
          throw new ConfigError(`epoch ${epoch} step ${i + 1}: the loss is ${r.loss}; lower lr`);
        lossSum += r.loss;
        for (let c = 0; c < b.mask.length; c++) examples += b.mask[c]!;
        progress.step(i + 1, lossSum / (i + 1), examples);
      }
      const seconds = (performance.now() - t0) / 1000;
      const record: EpochRecord = {
        epoch,
        loss: lossSum / Math.max(1, batches.length),
        seconds,
        examples,
        examplesPerSecond: examples / seconds,
      };
      state.elapsedSeconds += seconds;
      const last = epoch === cfg.epochs || (cfg.maxMinutes !== undefined && timeUp());
      if (epoch % cfg.evalEvery === 0 || last) {
        const v0 = performance.now();
        const m = await evaluateRanking(sasrecScorer(model), valid, { batchSize: cfg.evalBatchSize });
        record.validSeconds = (performance.now() - v0) / 1000;
        state.elapsedSeconds += record.validSeconds;
        record.valid = flattenRankingMetrics(m);
        const ndcg10 = m.ndcg[10] ?? m.ndcg[m.ks[m.ks.length - 1]!]!;
        if (!state.best || ndcg10 > state.best.ndcg10) {
          state.best = { epoch, ndcg10, valid: record.valid };
          if (best) tf.dispose(Object.values(best));
          best = cloneWeights(model);
          state.badEvals = 0;
        } else state.badEvals += 1;
      }
      state.epochsDone = epoch;
      state.optimizerStep = optimizer.stepCount;
      state.rng = { ...state.rng, nextEpoch: epoch + 1 };
      state.history = [...state.history, record];
      const v = record.valid;
      progress.line(
        `epoch ${epoch}: loss ${record.loss.toFixed(4)}, ${Math.round(record.examplesPerSecond)} ex/s, ${formatDuration(seconds)}` +
          (v
            ? `; valid HR@10 ${v['HR@10']?.toFixed(4)} NDCG@10 ${v['NDCG@10']?.toFixed(4)} (best epoch ${state.best?.epoch})`
            : '') +
          `; elapsed ${formatDuration(state.elapsedSeconds)}`,
      );
      if (options.checkpointDir)
        await saveTrainingCheckpoint(options.checkpointDir, {
          format: SASREC_CHECKPOINT_FORMAT,
          weights: model.stateDict(),
          optimizer,
          best,
          state,
        });
      await options.onEpoch?.(record);
      if (state.best && state.badEvals >= cfg.patience) stoppedBy = 'patience';
      else if (timeUp()) stoppedBy = 'time';
    }

    if (cfg.restoreBest && best) model.loadStateDict(best);
    const trainSeconds = state.history.reduce((s, r) => s + r.seconds, 0);
    const examples = state.history.reduce((s, r) => s + r.examples, 0);
    return {
      model: model.eval(),
      history: state.history,
      best: state.best,
      stoppedBy,
      epochsDone: state.epochsDone,
      trainSeconds,
      elapsedSeconds: state.elapsedSeconds,
      examplesPerSecond: trainSeconds > 0 ? examples / trainSeconds : 0,
      resumedFrom,
      config: cfg,
    };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    if (best) tf.dispose(Object.values(best));
    trainer.dispose();
    optimizer.dispose();
  }
}
