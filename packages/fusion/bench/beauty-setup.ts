// The Beauty-scale inputs the fusion benchmarks share (fusion.bench.ts, step-profile.ts, and
// apps/bench's speed-finetune.ts through the workspace-only export `@mmesid/fusion/bench-setup`):
// the authors' Beauty sequences and SASRec table, and seeded random stand-ins for the text/visual
// tables (64-wide) and semantic IDs (L 4, K 256, eDim 64), whose values do not change the cost.
import { itemFrequency, leaveOneOut, loadAuthorsDataset, loadEmbedding } from '@mmesid/datasets';
import { Rng } from '@mmesid/tensor';
import {
  createMmeSid,
  type FusionConfigInput,
  type ItemTable,
  type MmeSidModel,
  type ModalitySemanticIds,
  type PromptStyle,
  randomSemanticIds,
} from '../src/index.js';

export async function beautySetup(dataDir: string) {
  const dataset = await loadAuthorsDataset(dataDir);
  const N = dataset.numItems;
  const split = leaveOneOut(dataset);
  const sasrec = await loadEmbedding(`${dataDir}/sasrec_item_emb.f32`);
  const rng = new Rng('fusion-bench');
  const standIn = (cols: number): ItemTable => ({
    rows: N + 1,
    cols,
    data: rng.fillNormal(new Float32Array((N + 1) * cols), 0, 0.1),
  });
  const tables = { collaborative: sasrec, visual: standIn(64), text: standIn(64) };
  const sids = randomSemanticIds(Object.keys(tables), N, { levels: 4, codebookSize: 256, dim: 64, seed: 1 });
  const semanticIds: Record<string, ModalitySemanticIds> = Object.fromEntries(
    Object.entries(sids).map(([m, s]) => [
      m,
      { ...s, codebooks: rng.fillNormal(new Float32Array(4 * 256 * 64), 0, 0.1) },
    ]),
  );
  return { dataset, N, split, tables, semanticIds, frequency: itemFrequency(split.train, N) };
}

/**
 * The benchmarks' MME-SID model on `setup`: stories260k (or `llama`), items at the end of the
 * prompt, the minimal prompt unless `promptStyle` names another ('default': createMmeSid's own
 * choice), `config` merged over that.
 */
export function beautyBenchModel(
  setup: Awaited<ReturnType<typeof beautySetup>>,
  llama: string,
  opts: { promptStyle?: PromptStyle | 'default'; itemsAtEnd?: boolean; config?: FusionConfigInput } = {},
): Promise<MmeSidModel> {
  const style = opts.promptStyle ?? 'minimal';
  return createMmeSid({
    variant: 'MME-SID',
    config: { itemsAtEnd: opts.itemsAtEnd ?? true, ...opts.config },
    numItems: setup.N,
    tables: setup.tables,
    semanticIds: setup.semanticIds,
    frequency: setup.frequency,
    llama,
    ...(style === 'default' ? {} : { promptStyle: style }),
  });
}

/**
 * The benchmarks' training options: one epoch in micro-batches of `microBatch`, effective batch 16,
 * 10 warm-up steps, seed 1 (each script runs one step with them before it times anything).
 */
export function benchTrainOptions(microBatch: number, mode: 'efficient' | 'paper' = 'efficient') {
  return {
    mode,
    epochs: 1,
    microBatch,
    effectiveBatch: 16,
    warmupSteps: 10,
    logEvery: 1000,
    seed: 1,
  } as const;
}
