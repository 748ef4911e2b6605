import { resolve } from 'node:path';
import type { Dataset, Matrix } from '@mmesid/datasets';
import { encodeItems, itemsFromMeta, TfidfSvdTextEncoder } from '@mmesid/llm2clip';
import type { StageContext } from '../cache.js';

export interface EmbeddingsConfig {
  /** Text encoder: the classical offline one here; LLM2CLIP needs the 8B checkpoints (paper preset). */
  text: { encoder: 'tfidf-svd'; dim: number; seed: number };
  /** Visual: the synthetic dataset's generated features, or missing (no images can be fetched here). */
  visual: 'synthetic-features' | 'missing';
}

export interface ModalityTable {
  name: string;
  encoder: string;
  rows: number;
  dim: number;
  file: string;
  missing: number;
}

export interface EmbeddingsSummary {
  text: ModalityTable;
  visual: ModalityTable | { missing: string };
}

/**
 * Text embeddings of every item title and, where the dataset has them, visual features, as
 * `(numItems + 1) x d` tables (row 0 padding) written through @mmesid/llm2clip's encodeItems
 * (safetensors + JSON, resumable).
 */
export async function runEmbeddings(
  ctx: StageContext,
  cfg: EmbeddingsConfig,
  dataset: Dataset,
  visual: Matrix | null,
): Promise<EmbeddingsSummary> {
  const items = itemsFromMeta(dataset.items);
  const titles = items.map((it) => it.title ?? '');
  const encoder = TfidfSvdTextEncoder.fit(titles, { dim: cfg.text.dim, seed: cfg.text.seed });
  const file = resolve(ctx.workDir, 'text.safetensors');
  const res = await encodeItems(items, encoder, {
    cacheFile: file,
    rows: dataset.numItems + 1,
    batchSize: 512,
    onProgress: (p) => ctx.log(`text ${p.done}/${p.total}`),
  });
  const text: ModalityTable = {
    name: 'text',
    encoder: encoder.name,
    rows: res.table.rows,
    dim: res.table.dim,
    file,
    missing: res.missing.size,
  };
  ctx.log(`text: ${encoder.name}, ${res.encoded} encoded, ${res.missing.size} missing`);
  if (cfg.visual === 'synthetic-features' && visual) {
    return {
      text,
      visual: {
        name: 'visual',
        encoder: 'synthetic visual features (generator ground truth)',
        rows: visual.rows,
        dim: visual.cols,
        file: 'data:visual.f32',
        missing: 0,
      },
    };
  }
  return {
    text,
    visual: {
      missing:
        'no visual embeddings: item images cannot be fetched on this machine and LLM2CLIP weights are absent; the visual modality is left out',
    },
  };
}
