import { realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Dataset, Matrix } from '@mmesid/datasets';
import {
  ClipVisionEncoder,
  type EncodeItemsResult,
  encodeItems,
  type Item,
  itemsFromMeta,
  Llm2VecTextEncoder,
  type ModalityEncoder,
  progressPrinter,
  readEmbeddingTable,
  TfidfSvdTextEncoder,
} from '@mmesid/llm2clip';
import type { StageContext } from '../cache.js';
import { llm2clipLayout } from '../options.js';

/** The offline configuration (tiny preset without `--llm2clip`). Its shape is part of cached runs' keys. */
export interface TfidfEmbeddingsConfig {
  /** Text encoder: the classical offline one; LLM2CLIP needs the 8B checkpoints (`--llm2clip`). */
  text: { encoder: 'tfidf-svd'; dim: number; seed: number };
  /** Visual: the synthetic dataset's generated features, or missing (no images can be fetched here). */
  visual: 'synthetic-features' | 'missing';
}

/** The paper's encoders (`--preset paper`, or any preset given `--llm2clip`). */
export interface Llm2clipEmbeddingsConfig {
  /** The `--llm2clip` folder, absolute (layout: `llm2clipLayout`). */
  llm2clip: string;
  /** LLM2Vec Llama (bidirectional, mean pooled) + the LLM2CLIP text adapter; no chat template (as the authors). */
  text: { encoder: 'llm2clip'; chatTemplate: 'none' };
  /**
   * CLIP ViT-L/14-336 vision tower + projection on each item's image (a local path or URL from the
   * metadata). When more than `maxMissingFraction` of the items have no loadable image, the visual
   * modality is left out instead of quantising zero rows.
   */
  visual: { encoder: 'llm2clip'; maxMissingFraction: number };
}

export type EmbeddingsConfig = TfidfEmbeddingsConfig | Llm2clipEmbeddingsConfig;

/** Above this fraction of items without a loadable image the visual modality is left out. */
export const MAX_MISSING_IMAGES = 0.1;

/**
 * The stage's config: LLM2CLIP when `--llm2clip` is given (required by the paper preset), else the
 * offline TF-IDF + SVD text encoder with the same object as before `--llm2clip` existed, so that
 * finished runs keep their cache.
 */
export function embeddingsConfig(
  opts: { llm2clip?: string | undefined; seed: number },
  textDim: number,
  hasSyntheticVisual: boolean,
): EmbeddingsConfig {
  if (opts.llm2clip)
    return {
      llm2clip: llm2clipLayout(opts.llm2clip).root,
      text: { encoder: 'llm2clip', chatTemplate: 'none' },
      visual: { encoder: 'llm2clip', maxMissingFraction: MAX_MISSING_IMAGES },
    };
  return {
    text: { encoder: 'tfidf-svd', dim: textDim, seed: opts.seed },
    visual: hasSyntheticVisual ? 'synthetic-features' : 'missing',
  };
}

export interface ModalityTable {
  name: string;
  encoder: string;
  rows: number;
  dim: number;
  file: string;
  /** Items without a vector (zero row; reasons in the table's `.json`). */
  missing: number;
  /** Items encoded in the run that finished the stage, and items read from the stage's cache. */
  encoded?: number;
  fromCache?: number;
  /** Up to five missing items with their reasons. */
  missingExamples?: { id: number; reason: string }[];
}

export interface EmbeddingsSummary {
  text: ModalityTable;
  /** The visual table, or why there is none (`table`: what was encoded before it was left out). */
  visual: ModalityTable | { missing: string; table?: ModalityTable };
}

/**
 * Text embeddings of every item title and, where there are any, visual embeddings, as
 * `(numItems + 1) x d` tables (row 0 padding) written through @mmesid/llm2clip's encodeItems
 * (safetensors + JSON, resumable): LLM2CLIP text and vision with `cfg.llm2clip`, else TF-IDF + SVD
 * and the synthetic generator's visual features.
 */
export async function runEmbeddings(
  ctx: StageContext,
  cfg: EmbeddingsConfig,
  dataset: Dataset,
  visual: Matrix | null,
): Promise<EmbeddingsSummary> {
  if ('llm2clip' in cfg) return runLlm2clip(ctx, cfg, dataset);
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

/** The folder's real name (through a symlink), to label the encoders in tables and the report. */
function label(dir: string): string {
  try {
    return basename(realpathSync(dir));
  } catch {
    return basename(dir);
  }
}

/** encodeItems into `<workDir>/<name>.safetensors`, resuming what an interrupted run left there. */
async function encodeTable(
  ctx: StageContext,
  name: 'text' | 'visual',
  items: readonly Item[],
  encoder: ModalityEncoder,
  rows: number,
): Promise<{ res: EncodeItemsResult; table: ModalityTable }> {
  const file = `${name}.safetensors`;
  const bar = progressPrinter({ write: (s) => ctx.log(`${name}: ${s.trim()}`), isTTY: false });
  let res: EncodeItemsResult;
  try {
    res = await encodeItems(items, encoder, {
      cacheFile: resolve(ctx.workDir, file),
      rows,
      batchSize: 8,
      onProgress: bar.update,
    });
    bar.finish();
  } finally {
    encoder.dispose();
  }
  const missingExamples = [...res.missing].slice(0, 5).map(([id, reason]) => ({ id, reason }));
  ctx.log(
    `${name}: ${encoder.name}, ${res.encoded} encoded, ${res.fromCache} from cache, ${res.missing.size} missing` +
      (missingExamples.length
        ? ` (e.g. item ${missingExamples[0]!.id}: ${missingExamples[0]!.reason}; all in ${name}.json)`
        : ''),
  );
  return {
    res,
    table: {
      name,
      encoder: encoder.name,
      rows: res.table.rows,
      dim: res.table.dim,
      file,
      missing: res.missing.size,
      encoded: res.encoded,
      fromCache: res.fromCache,
      ...(missingExamples.length ? { missingExamples } : {}),
    },
  };
}

/**
 * The paper's modalities: titles through the LLM2CLIP text encoder (LLM2Vec Llama + adapter), images
 * through the LLM2CLIP vision tower. One model is in memory at a time. Items whose image cannot be
 * loaded are reported missing (zero row, reason in `visual.json`), never given a made-up vector.
 */
async function runLlm2clip(
  ctx: StageContext,
  cfg: Llm2clipEmbeddingsConfig,
  dataset: Dataset,
): Promise<EmbeddingsSummary> {
  const layout = llm2clipLayout(cfg.llm2clip);
  const items = itemsFromMeta(dataset.items);
  const rows = dataset.numItems + 1;
  ctx.log(`LLM2CLIP: text ${layout.text}, vision and text adapter ${layout.vision}`);

  const textEncoder = await Llm2VecTextEncoder.fromPretrained(layout.text, layout.adapter, {
    chatTemplate: cfg.text.chatTemplate,
    modelName: label(layout.text),
    adapterName: label(layout.adapter),
  });
  const text = (await encodeTable(ctx, 'text', items, textEncoder, rows)).table;

  const visionEncoder = await ClipVisionEncoder.fromPretrained(layout.vision, {
    modelName: label(layout.vision),
  });
  const vis = await encodeTable(ctx, 'visual', items, visionEncoder, rows);
  // Items without metadata (not encoded at all) count as missing images too: their rows are zero.
  const noImage = vis.res.missing.size + (dataset.numItems - items.length);
  const fraction = dataset.numItems > 0 ? noImage / dataset.numItems : 1;
  if (fraction > cfg.visual.maxMissingFraction) {
    const missing =
      `visual modality left out: ${noImage} of ${dataset.numItems} items have no loadable image ` +
      `(${(100 * fraction).toFixed(1)}% > ${100 * cfg.visual.maxMissingFraction}%; reasons in visual.json` +
      (vis.table.missingExamples?.length
        ? `, e.g. item ${vis.table.missingExamples[0]!.id}: ${vis.table.missingExamples[0]!.reason}`
        : '') +
      ')';
    ctx.log(missing);
    return { text, visual: { missing, table: vis.table } };
  }
  return { text, visual: vis.table };
}

/** The stage's text table as a Matrix ((numItems + 1) x dim, row 0 padding). */
export async function readTextTable(stageDir: string): Promise<Matrix> {
  const t = await readEmbeddingTable(resolve(stageDir, 'text.safetensors'));
  return { rows: t.rows, cols: t.dim, data: t.data };
}

/**
 * The visual table the later stages read, or undefined when the stage left the modality out: the
 * LLM2CLIP table from the stage folder (rows of items without an image are zero, listed in
 * `visual.json`), or the synthetic generator's features.
 */
export async function readVisualTable(
  stageDir: string,
  summary: EmbeddingsSummary,
  synthetic: Matrix | null,
): Promise<Matrix | undefined> {
  const v = summary.visual;
  if (!('name' in v)) return undefined;
  if (v.file === 'data:visual.f32') return synthetic ?? undefined;
  const t = await readEmbeddingTable(resolve(stageDir, basename(v.file)));
  return { rows: t.rows, cols: t.dim, data: t.data };
}
