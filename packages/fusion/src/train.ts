import { formatDuration } from '@mmesid/core';
import { sampleNegatives } from '@mmesid/datasets';
import { AdamW, MmesidError, Rng, Trainer, tf, warmupCosineSchedule } from '@mmesid/tensor';
import {
  loadCheckpoint,
  saveCheckpoint,
  type TrainProgressState,
  type ValidationState,
} from './checkpoint.js';
import { type EvaluationPair, evaluateMmeSid } from './evaluate.js';
import type { MmeSidModel, ParameterSummary } from './model.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './train-config.js';
import { groupBySequence, type SequenceUnit, selectTrainingPairs, type TrainingPair } from './train-units.js';

/** A progress report, sent every `logEvery` optimiser steps and at the end. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  /** Fractional epoch reached. */
  epoch: number;
  examplesSeen: number;
  /** Mean micro-batch loss since the previous report. */
  loss: number;
  lr: number;
  gradNorm?: number;
  elapsedSeconds: number;
  etaSeconds: number;
  examplesPerSecond: number;
}

/** Callbacks of {@link trainMmeSid}. */
export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  /** Progress lines and checkpoint messages; default `console.log`; pass `() => {}` for silence. */
  log?: (line: string) => void;
  /**
   * The validation metric of early stopping (higher is better), instead of nDCG@`validationK` on the
   * validation pairs. Called in eval mode; it must not change the model.
   */
  validate?: (model: MmeSidModel, step: number) => Promise<number>;
}

/** What validation early stopping did (in {@link TrainResult} when `validateEvery` is set). */
export interface ValidationSummary {
  /** nDCG@k, or `'custom'` when `hooks.validate` gave the metric. */
  metric: string;
  /** Validation pairs evaluated each time (0 with `hooks.validate`). */
  pairs: number;
  /** Optimiser steps between evaluations (there is one at the last step too). */
  every: number;
  evals: { step: number; metric: number }[];
  best: number;
  /** The optimiser step whose weights the model ends with. */
  bestStep: number;
}

/** What a training run did. Every report should quote `modeNote`. */
export interface TrainResult {
  mode: TrainConfig['mode'];
  /** One sentence on what the mode does, how it differs from the authors' setup, and the counts. */
  modeNote: string;
  config: TrainConfig;
  /** Training pairs used per epoch. */
  pairs: number;
  /** Forward passes per epoch (pairs in paper mode, user sequences in efficient mode). */
  forwardUnits: number;
  optimizerSteps: number;
  totalSteps: number;
  microBatches: number;
  examplesSeen: number;
  epochsCompleted: number;
  /** Mean loss of the first reporting window and of the last one. */
  firstLoss: number;
  finalLoss: number;
  lossCurve: { step: number; loss: number }[];
  seconds: number;
  parameters: ParameterSummary;
  /** The optimiser step a resumed run started from (0 for a fresh run). */
  resumedFromStep: number;
  /**
   * `patience`: validation early stopping ended the run (the model holds the best evaluation's
   * weights, as after `done` with validation on); `maxSteps` / `maxSeconds` pause a run that its
   * checkpoint resumes (the model holds the last step's weights).
   */
  stoppedBy: 'done' | 'patience' | 'maxSteps' | 'maxSeconds';
  validation?: ValidationSummary;
}

type Unit = { kind: 'pair'; pair: TrainingPair } | { kind: 'sequence'; seq: SequenceUnit };

function unitsOf(pairs: readonly TrainingPair[], cfg: TrainConfig): Unit[] {
  const chosen = selectTrainingPairs(pairs, cfg);
  if (cfg.mode === 'paper') return chosen.map((pair) => ({ kind: 'pair', pair }));
  return groupBySequence(chosen).map((seq) => ({ kind: 'sequence', seq }));
}

function describeMode(cfg: TrainConfig, pairs: number, units: number): string {
  if (cfg.mode === 'paper')
    return `paper mode: one forward pass per (history, target) training pair, as the authors train (${pairs} pairs per epoch, ${cfg.effectiveBatch} pairs per optimiser step)`;
  return (
    `efficient mode: one forward pass per user sequence scoring every training position at once (${pairs} pairs from ${units} sequences per epoch); ` +
    'causal attention makes the hidden state at each item the representation of the prefix ending there, so the pairs and the scoring function are those of paper mode, ' +
    `but the prompt ends with the items (no response header after them) and an optimiser step averages over ${cfg.effectiveBatch} sequences instead of ${cfg.effectiveBatch} pairs`
  );
}

/**
 * Fine-tunes an MME-SID model (LoRA + heads; the LLM stays frozen) on leave-one-out training pairs
 * with AdamW, linear warm-up then cosine decay, gradient accumulation to `effectiveBatch` and
 * gradient clipping, seeded. Progress lines go to `hooks.log`; with `checkpointDir` a checkpoint is
 * written every `checkpointEvery` optimiser steps and at the end, and a run started again with the
 * same configs resumes from it: same example order, dropout masks and optimiser state, so the
 * resumed run ends bit-identical to an uninterrupted one. The checkpoint may be moved or copied
 * with its run directory (its path is not part of what is compared on resume).
 *
 * The model is left in eval mode. The loss is the model config's (`ce` by default).
 *
 * @param pairs `leaveOneOut(dataset).train` from @mmesid/datasets
 * @example
 * const result = await trainMmeSid(model, split.train, { mode: 'efficient', epochs: 1 }, { onProgress: (p) => bar.update(p) });
 * console.log(result.modeNote, result.parameters.text);
 */
export async function trainMmeSid(
  model: MmeSidModel,
  pairs: readonly TrainingPair[],
  config: TrainConfigInput = {},
  hooks: TrainHooks = {},
  validation: readonly EvaluationPair[] = [],
): Promise<TrainResult> {
  const cfg = parseTrainConfig(config);
  const log = hooks.log ?? ((line: string) => console.log(line));
  const validating = cfg.validateEvery !== undefined || cfg.validationsPerEpoch !== undefined;
  if (validating && !hooks.validate && validation.length === 0)
    throw new MmesidError(
      'trainMmeSid: validateEvery is set but there are no validation pairs (pass leaveOneOut(dataset).valid) and no hooks.validate',
    );
  if (!validating && (validation.length > 0 || hooks.validate))
    throw new MmesidError(
      'trainMmeSid: validation pairs or hooks.validate were given but neither validateEvery nor validationsPerEpoch is set, so they would be ignored',
    );
  const valPairs = validationSubset(validation, cfg);
  if (cfg.mode === 'efficient' && model.prompt.suffix.length > 0)
    throw new MmesidError(
      'trainMmeSid: efficient mode needs the item tokens at the end of the prompt; build the model with config { itemsAtEnd: true }',
    );
  if (pairs.length === 0) throw new MmesidError('trainMmeSid: no training pairs');
  const units = unitsOf(pairs, cfg);
  const pairCount = units.reduce((a, u) => a + (u.kind === 'pair' ? 1 : u.seq.targets.length), 0);
  const accumulation = cfg.effectiveBatch / cfg.microBatch;
  const microPerEpoch = Math.ceil(units.length / cfg.microBatch);
  const totalMicro = Math.max(1, Math.ceil(cfg.epochs * microPerEpoch));
  // Optimiser steps: whole accumulations within each epoch, plus a partial one at each epoch's end.
  const stepsIn = (micro: number) =>
    Math.floor(micro / microPerEpoch) * Math.ceil(microPerEpoch / accumulation) +
    Math.ceil((micro % microPerEpoch) / accumulation);
  const totalSteps = stepsIn(totalMicro);
  const validateEvery =
    cfg.validateEvery ??
    (cfg.validationsPerEpoch !== undefined
      ? Math.max(1, Math.floor(Math.ceil(microPerEpoch / accumulation) / cfg.validationsPerEpoch))
      : Number.POSITIVE_INFINITY);
  const params = model.trainableParameters();
  const optimizer = new AdamW(params, {
    lr: cfg.lr,
    betas: cfg.betas,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
  });
  const trainer = new Trainer({
    optimizer,
    accumulationSteps: accumulation,
    ...(cfg.clipNorm > 0 ? { clipNorm: cfg.clipNorm } : {}),
    schedule: warmupCosineSchedule(warmupOf(cfg, totalSteps), totalSteps),
  });
  const fusionCfg = model.config;
  const trainCfgForCheck = {
    ...cfg,
    maxSteps: undefined,
    maxSeconds: undefined,
    logEvery: undefined,
    checkpointEvery: undefined,
    // Where the checkpoint lives is not what it computes: a moved run directory must resume.
    checkpointDir: undefined,
  };
  let progress: TrainProgressState = {
    microBatches: 0,
    optimizerSteps: 0,
    examplesSeen: 0,
    seconds: 0,
    lossCurve: [],
    ...(validating
      ? { validation: { evals: [], best: null, bestStep: 0, sinceBest: 0, stopped: false } }
      : {}),
  };
  // The best weights of validation early stopping: every trainable tensor, by parameter path.
  let best: Map<string, tf.Tensor> | null = null;
  let ckptDir: string | undefined;
  if (cfg.checkpointDir) {
    ckptDir = cfg.checkpointDir;
    const restored = await loadCheckpoint(ckptDir, model, optimizer, {
      fusion: fusionCfg,
      train: trainCfgForCheck,
    });
    if (restored) {
      progress = restored.progress;
      best = restored.best;
      log(`[fusion] resumed from ${ckptDir} at step ${progress.optimizerSteps}/${totalSteps}`);
    }
  }
  const val: ValidationState | undefined = progress.validation;
  const resumedFromStep = progress.optimizerSteps;
  const order = new Map<number, number[]>();
  const epochOrder = (e: number) => {
    let o = order.get(e);
    if (!o) {
      o = new Rng(`order:${cfg.seed}:${e}`).shuffle(Array.from(units.keys()));
      order.clear();
      order.set(e, o);
    }
    return o;
  };
  const writeCheckpoint = async () => {
    if (!ckptDir) return;
    await saveCheckpoint(
      ckptDir,
      model,
      optimizer,
      { fusion: fusionCfg, train: trainCfgForCheck, progress },
      best,
    );
  };
  const snapshot = () => {
    if (best) tf.dispose([...best.values()]);
    best = new Map([...model.trainableParameters()].map(([k, v]) => [k, v.clone()]));
  };
  /** One evaluation: records it, keeps the weights when they improve, says whether patience ran out. */
  const validateNow = async (): Promise<boolean> => {
    model.eval();
    let metric: number;
    try {
      metric = hooks.validate
        ? await hooks.validate(model, progress.optimizerSteps)
        : ((await evaluateMmeSid(model, valPairs, { batchSize: 16, ks: [cfg.validationK] })).metrics.ndcg[
            cfg.validationK
          ] ?? Number.NaN);
    } finally {
      model.train();
    }
    if (!Number.isFinite(metric))
      throw new MmesidError(
        `trainMmeSid: the validation metric at step ${progress.optimizerSteps} is ${metric}`,
      );
    const v = val!;
    v.evals.push({ step: progress.optimizerSteps, metric });
    if (v.best === null || metric > v.best + cfg.minDelta) {
      v.best = metric;
      v.bestStep = progress.optimizerSteps;
      v.sinceBest = 0;
      snapshot();
    } else v.sinceBest++;
    log(
      `[fusion] validation at step ${progress.optimizerSteps}: ${hooks.validate ? 'metric' : `nDCG@${cfg.validationK}`} ${metric.toFixed(5)} ` +
        `(best ${v.best.toFixed(5)} at step ${v.bestStep}; ${v.sinceBest}/${cfg.patience} without improvement)`,
    );
    v.stopped = v.sinceBest >= cfg.patience;
    return v.stopped;
  };

  model.train();
  const t0 = performance.now() - progress.seconds * 1000;
  let windowLoss = 0;
  let windowCount = 0;
  let lastLr = 0;
  let lastNorm: number | undefined;
  let stoppedBy: TrainResult['stoppedBy'] = 'done';
  const report = () => {
    const elapsed = (performance.now() - t0) / 1000;
    const loss = windowCount ? windowLoss / windowCount : Number.NaN;
    progress.lossCurve.push({ step: progress.optimizerSteps, loss });
    windowLoss = 0;
    windowCount = 0;
    const rate = progress.examplesSeen / Math.max(elapsed, 1e-9);
    const remaining = totalSteps - progress.optimizerSteps;
    const perStep = elapsed / Math.max(1, progress.optimizerSteps);
    const p: TrainProgress = {
      step: progress.optimizerSteps,
      totalSteps,
      epoch: progress.microBatches / microPerEpoch,
      examplesSeen: progress.examplesSeen,
      loss,
      lr: lastLr,
      ...(lastNorm !== undefined ? { gradNorm: lastNorm } : {}),
      elapsedSeconds: elapsed,
      etaSeconds: remaining * perStep,
      examplesPerSecond: rate,
    };
    hooks.onProgress?.(p);
    log(
      `[fusion] step ${p.step}/${totalSteps} epoch ${p.epoch.toFixed(2)} loss ${loss.toFixed(4)} lr ${lastLr.toExponential(2)}` +
        `${lastNorm !== undefined ? ` |g| ${lastNorm.toFixed(3)}` : ''} ${rate.toFixed(1)} pairs/s eta ${formatDuration(p.etaSeconds)}`,
    );
  };

  try {
    if (val?.stopped) stoppedBy = 'patience';
    for (let micro = val?.stopped ? totalMicro : progress.microBatches; micro < totalMicro; micro++) {
      const epoch = Math.floor(micro / microPerEpoch);
      const inEpoch = micro % microPerEpoch;
      const ord = epochOrder(epoch);
      const batch = ord.slice(inEpoch * cfg.microBatch, (inEpoch + 1) * cfg.microBatch).map((i) => units[i]!);
      const negRng = new Rng(`negatives:${cfg.seed}:${micro}`);
      const lossFn = lossFunction(model, batch, negRng);
      const res = await trainer.step(lossFn.fn);
      windowLoss += res.loss;
      windowCount++;
      progress.examplesSeen += lossFn.pairs;
      const epochEnd = inEpoch === microPerEpoch - 1 || micro === totalMicro - 1;
      let applied = res.applied;
      if (!applied && epochEnd) {
        const f = await trainer.flush();
        if (f) {
          applied = true;
          lastLr = f.lr;
          lastNorm = f.gradNorm;
        }
      } else if (applied) {
        lastLr = res.lr ?? lastLr;
        lastNorm = res.gradNorm;
      }
      if (!applied) continue;
      progress.optimizerSteps++;
      progress.microBatches = micro + 1;
      progress.seconds = (performance.now() - t0) / 1000;
      const last = micro === totalMicro - 1;
      if (progress.optimizerSteps % cfg.logEvery === 0 || last) report();
      const patienceOut =
        val !== undefined && (progress.optimizerSteps % validateEvery === 0 || last) && (await validateNow());
      if (patienceOut) {
        stoppedBy = 'patience';
        if (windowCount) report();
        log(
          `[fusion] early stop at step ${progress.optimizerSteps}/${totalSteps}: ${cfg.patience} evaluations without improvement; best at step ${val!.bestStep}`,
        );
        break;
      }
      const overSteps =
        cfg.maxSteps !== undefined && progress.optimizerSteps - resumedFromStep >= cfg.maxSteps;
      const overTime = cfg.maxSeconds !== undefined && progress.seconds >= cfg.maxSeconds;
      if ((progress.optimizerSteps % cfg.checkpointEvery === 0 && !last) || overSteps || overTime)
        await writeCheckpoint();
      if (overSteps || overTime) {
        stoppedBy = overSteps ? 'maxSteps' : 'maxSeconds';
        if (windowCount) report();
        log(`[fusion] stopped by ${stoppedBy} at step ${progress.optimizerSteps}/${totalSteps}`);
        break;
      }
    }
    if (stoppedBy === 'done' || stoppedBy === 'patience') {
      await writeCheckpoint();
      // End with the best evaluation's weights (the checkpoint keeps the last ones and the best).
      if (best)
        for (const [k, v] of model.trainableParameters()) {
          const t = (best as Map<string, tf.Tensor>).get(k);
          if (!t) throw new MmesidError(`trainMmeSid: the best-weights snapshot has no ${k}`);
          v.assign(t);
        }
    }
  } finally {
    if (best) tf.dispose([...(best as Map<string, tf.Tensor>).values()]);
    trainer.dispose();
    optimizer.dispose();
    model.eval();
  }
  const curve = progress.lossCurve;
  return {
    mode: cfg.mode,
    modeNote: describeMode(cfg, pairCount, units.length),
    config: cfg,
    pairs: pairCount,
    forwardUnits: units.length,
    optimizerSteps: progress.optimizerSteps,
    totalSteps,
    microBatches: progress.microBatches,
    examplesSeen: progress.examplesSeen,
    epochsCompleted: progress.microBatches / microPerEpoch,
    firstLoss: curve[0]?.loss ?? Number.NaN,
    finalLoss: curve[curve.length - 1]?.loss ?? Number.NaN,
    lossCurve: curve,
    seconds: (performance.now() - t0) / 1000,
    parameters: model.parameterSummary(),
    resumedFromStep,
    stoppedBy,
    ...(val
      ? {
          validation: {
            metric: hooks.validate ? 'custom' : `nDCG@${cfg.validationK}`,
            every: validateEvery,
            pairs: hooks.validate ? 0 : valPairs.length,
            evals: val.evals,
            best: val.best ?? Number.NaN,
            bestStep: val.bestStep,
          },
        }
      : {}),
  };
}

/** The validation pairs evaluated: all, or a seeded choice of `maxValidationUsers` in input order. */
function validationSubset(pairs: readonly EvaluationPair[], cfg: TrainConfig): readonly EvaluationPair[] {
  if (cfg.maxValidationUsers === undefined || pairs.length <= cfg.maxValidationUsers) return pairs;
  const keep = new Rng(`validation:${cfg.seed}`)
    .shuffle(Array.from(pairs.keys()))
    .slice(0, cfg.maxValidationUsers)
    .sort((a, b) => a - b);
  return keep.map((i) => pairs[i]!);
}

/** The loss closure of one micro-batch, with its data prepared outside the gradient tape. */
function lossFunction(model: MmeSidModel, batch: Unit[], rng: Rng): { fn: () => tf.Scalar; pairs: number } {
  const bce = model.config.loss.kind === 'bce';
  const count = model.config.loss.negatives;
  const N = model.numItems;
  if (batch[0]!.kind === 'pair') {
    const pairs = batch.map((u) => (u as { pair: TrainingPair }).pair);
    const histories = pairs.map((p) => p.history);
    const targets = pairs.map((p) => p.target);
    const negatives = bce
      ? pairs.map((p) => sampleNegatives(rng, p.target, { numItems: N, count, exclude: p.history }))
      : undefined;
    const items = pairs.flatMap((p) => [...Array.from(p.history), p.target]);
    return {
      fn: () => model.lossFromScores(model.score(histories), targets, negatives, items),
      pairs: pairs.length,
    };
  }
  const seqs = batch.map((u) => (u as { seq: SequenceUnit }).seq);
  const targets = seqs.flatMap((s) => s.targets);
  const negatives = bce
    ? seqs.flatMap((s) =>
        s.targets.map((t, j) =>
          sampleNegatives(rng, t, {
            numItems: N,
            count,
            exclude: Array.from(s.items).slice(0, s.prefixLengths[j]),
          }),
        ),
      )
    : undefined;
  const items = seqs.flatMap((s) => [...Array.from(s.items), ...s.targets]);
  return {
    fn: () =>
      model.lossFromScores(
        model.scoreRepresentations(model.prefixRepresentations(seqs)),
        targets,
        negatives,
        items,
      ),
    pairs: targets.length,
  };
}

/** The warm-up steps of a run of `totalSteps`: `warmupFraction` of them (at least 1) when set, else `warmupSteps`. */
export function warmupOf(
  cfg: { warmupSteps: number; warmupFraction?: number | undefined },
  totalSteps: number,
): number {
  const w =
    cfg.warmupFraction !== undefined
      ? Math.max(1, Math.round(cfg.warmupFraction * totalSteps))
      : cfg.warmupSteps;
  return Math.min(w, totalSteps);
}
