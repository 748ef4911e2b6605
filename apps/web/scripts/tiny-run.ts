/**
 * A tiny, self-contained run for the end-to-end test and for trying the page without the full
 * pipeline: a seeded synthetic dataset, a randomly initialised 2-layer Llama, an MME-SID model over
 * three modalities with random semantic IDs, a few fine-tuning steps, then `exportRun` plus the
 * dataset in the authors' layout under `data/`. Node only. Every piece comes from the packages'
 * public entries; nothing here is model code.
 */
import { generateSynthetic, itemFrequency, leaveOneOut, saveAuthorsDataset } from '@mmesid/datasets';
import { createMmeSid, exportRun, promptFromIds, type TrainResult, trainMmeSid } from '@mmesid/fusion';
import { LlamaModel, parseLlamaConfig } from '@mmesid/llama';
import { Rng } from '@mmesid/tensor';

/** Options of {@link makeTinyRun}. */
export interface TinyRunOptions {
  /** The folder to write (replaced atomically by `exportRun`; `data/` is added after). */
  dir: string;
  numItems?: number;
  numUsers?: number;
  /** Optimiser steps of fine-tuning (default 4). */
  steps?: number;
  seed?: number;
}

/** What {@link makeTinyRun} made. */
export interface TinyRun {
  dir: string;
  numItems: number;
  titles: string[];
  test: { user: number; history: number[]; target: number }[];
  training: TrainResult;
}

/** Builds, trains briefly and exports a tiny MME-SID run into `opts.dir`. Uses the active tfjs backend. */
export async function makeTinyRun(opts: TinyRunOptions): Promise<TinyRun> {
  const seed = opts.seed ?? 7;
  const ds = generateSynthetic({
    numUsers: opts.numUsers ?? 48,
    numItems: opts.numItems ?? 60,
    maxSequenceLength: 10,
    meanSequenceLength: 6,
    seed,
  });
  const N = ds.numItems;
  const split = leaveOneOut(ds);
  const rng = new Rng(`tiny-run:${seed}`);
  const table = (cols: number) => ({
    rows: N + 1,
    cols,
    data: rng.fillNormal(new Float32Array((N + 1) * cols)),
  });
  const llm = new LlamaModel(
    parseLlamaConfig({
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 32,
      max_position_embeddings: 128,
    }),
    { rng: rng.fork('llama') },
  );
  const model = await createMmeSid({
    variant: 'MME-SID',
    config: {
      seed,
      sid: { source: 'random', init: 'random', levels: 2, codebookSize: 8, dim: 16 },
      lora: { r: 4, alpha: 8, dropout: 0 },
    },
    numItems: N,
    tables: { collaborative: table(16), visual: ds.visual, text: table(24) },
    frequency: itemFrequency(split.train, N),
    llama: llm,
    // Token ids of a made-up prompt: "<prefix> items <suffix>"; the random Llama has no tokenizer.
    prompt: promptFromIds([1, 5, 7, 2], [9, 3], '<tiny prompt>', 'plain'),
  });
  try {
    const steps = opts.steps ?? 4;
    const training = await trainMmeSid(
      model,
      split.train,
      { epochs: 1, maxSteps: steps, microBatch: 4, effectiveBatch: 4, warmupSteps: 0, lr: 5e-3, seed },
      { log: () => {} },
    );
    await exportRun(model, opts.dir, {
      metadata: {
        variant: 'MME-SID (tiny, synthetic)',
        dataset: `synthetic (${ds.sequences.length} users, ${N} items)`,
        steps: training.optimizerSteps,
      },
    });
    const { join } = await import('node:path');
    await saveAuthorsDataset(join(opts.dir, 'data'), ds);
    return {
      dir: opts.dir,
      numItems: N,
      titles: ds.items.map((m) => m?.title ?? ''),
      test: split.test.map((e) => ({ user: e.user, history: Array.from(e.history), target: e.target })),
      training,
    };
  } finally {
    model.dispose();
  }
}
