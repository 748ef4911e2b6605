import type { Dataset, Matrix } from '@mmesid/datasets';
import type { StageContext } from '../cache.js';
import type { VariantResult } from '../report/report.js';

export interface FinetuneConfig {
  variant: string;
  epochs: number;
  microBatch: number;
  effectiveBatch: number;
  lr: number;
  maxTrainExamples?: number;
  seed: number;
  llama: string;
}

export interface FinetuneInputs {
  dataset: Dataset;
  tables: Record<string, Matrix>;
  rqvaeExportDir: string;
  mseExportDir: string;
  llamaDir: string | undefined;
}

export async function runFinetune(
  ctx: StageContext,
  cfg: FinetuneConfig,
  inputs: FinetuneInputs,
): Promise<VariantResult> {
  void inputs;
  ctx.log(`variant ${cfg.variant}: @mmesid/fusion is not available yet`);
  throw new Error(
    'the fine-tuning stage needs @mmesid/fusion, which has not landed yet: run with --stages data,sasrec,embeddings,rqvae,report',
  );
}
