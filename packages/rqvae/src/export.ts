import {
  loadSafetensors,
  MmesidError,
  readJsonIfExists,
  ShapeError,
  saveSafetensors,
  type tf,
  writeDirAtomic,
  writeJsonAtomic,
} from '@mmesid/tensor';
import type { RqKMeansConfig, RqvaeConfig } from './config.js';
import type { ModalityInputs } from './data.js';
import { MMRQVAE } from './mm-rqvae.js';
import { RQKMeans } from './rq-kmeans.js';
import type { SemanticIdTokenizer } from './semantic-id-tokenizer.js';

/** The files of an export directory. */
export const EXPORT_FILES = {
  /** `<modality>.ids` I32 [N, L], `<modality>.codebooks` F32 [L, K, D], `<modality>.quantized` F32 [N, D]. */
  semanticIds: 'semantic_ids.safetensors',
  /** The tokenizer's own state dict (MM-RQ-VAE weights, or RQ-KMeans codebooks), for `loadTokenizer`. */
  tokenizer: 'tokenizer.safetensors',
  config: 'config.json',
} as const;

/** `config.json` of an export. */
export interface ExportConfig {
  format: 'mmesid-semantic-ids';
  version: 1;
  kind: 'mm-rqvae' | 'rq-kmeans';
  /** Items (rows) exported. */
  rows: number;
  /** Row r of every tensor is item id `firstItemId + r` (1 when padding row 0 was left out). */
  firstItemId: number;
  levels: number;
  codebookSize: number;
  modalities: { name: string; inputDim: number; latentDim: number }[];
  /** The tokenizer's full config. */
  tokenizer: RqvaeConfig | RqKMeansConfig;
  /** Anything the caller attached (training result, report figures, data provenance). */
  metadata: Record<string, unknown>;
}

/** One modality of a loaded export, as plain typed arrays (nothing to dispose). */
export interface ExportedModality {
  /** Row-major Int32Array rows x levels. */
  ids: Int32Array;
  /** Row-major Float32Array levels x codebookSize x dim. */
  codebooks: Float32Array;
  /** Row-major Float32Array rows x dim: the sum of each item's codes. */
  quantized: Float32Array;
  rows: number;
  levels: number;
  codebookSize: number;
  /** Code width (eDim, or the input width for RQ-KMeans). */
  dim: number;
}

/** A loaded export (see {@link loadExport}). */
export interface SemanticIdExport {
  config: ExportConfig;
  modalities: Record<string, ExportedModality>;
}

/**
 * Writes what the fine-tuning stage initialises its semantic-ID embeddings from: for every
 * modality the items' semantic IDs, the codebooks (L x K x D) and the quantised embeddings, as
 * `semantic_ids.safetensors`, the tokenizer's state as `tokenizer.safetensors`, and `config.json`.
 * The directory is replaced atomically (written beside it, then renamed).
 *
 * Safetensors names are `<modality>.ids`, `<modality>.codebooks`, `<modality>.quantized`, so Python
 * reads them with `safetensors.torch.load_file`.
 *
 * @example
 * await exportSemanticIds(model, { collaborative: table }, 'out/beauty-sid', { firstItemId: 1 });
 * const { modalities } = await loadExport('out/beauty-sid');
 */
export async function exportSemanticIds(
  tokenizer: SemanticIdTokenizer & {
    stateDict(): Record<string, tf.Tensor>;
    config: RqvaeConfig | RqKMeansConfig;
  },
  inputs: ModalityInputs,
  dir: string,
  opts: { firstItemId?: number; metadata?: Record<string, unknown> } = {},
): Promise<ExportConfig> {
  const ids = await tokenizer.assign(inputs);
  const quantized = await tokenizer.quantize(inputs);
  const rows = quantized[tokenizer.modalities[0]!]!.rows;
  const L = tokenizer.levels;
  const K = tokenizer.codebookSize;
  const tensors: Record<string, { data: Int32Array | Float32Array; shape: number[]; dtype: 'I32' | 'F32' }> =
    {};
  const codebooks = tokenizer.codebooks();
  const modalities: ExportConfig['modalities'] = [];
  try {
    for (const name of tokenizer.modalities) {
      const d = tokenizer.latentDim(name);
      tensors[`${name}.ids`] = { data: ids[name]!, shape: [rows, L], dtype: 'I32' };
      tensors[`${name}.codebooks`] = {
        data: (await codebooks[name]!.data()) as Float32Array,
        shape: [L, K, d],
        dtype: 'F32',
      };
      tensors[`${name}.quantized`] = { data: quantized[name]!.data, shape: [rows, d], dtype: 'F32' };
      modalities.push({ name, inputDim: inputs[name]!.cols, latentDim: d });
    }
  } finally {
    for (const t of Object.values(codebooks)) t.dispose();
  }
  const config: ExportConfig = {
    format: 'mmesid-semantic-ids',
    version: 1,
    kind: tokenizer.kind,
    rows,
    firstItemId: opts.firstItemId ?? 0,
    levels: L,
    codebookSize: K,
    modalities,
    tokenizer: tokenizer.config,
    metadata: opts.metadata ?? {},
  };
  const { join } = await import('node:path');
  await writeDirAtomic(dir, async (tmp) => {
    await saveSafetensors(join(tmp, EXPORT_FILES.semanticIds), tensors, {
      metadata: { format: 'mmesid-semantic-ids', kind: tokenizer.kind },
    });
    await saveSafetensors(join(tmp, EXPORT_FILES.tokenizer), tokenizer.stateDict(), {
      metadata: { format: 'pt' },
    });
    await writeJsonAtomic(join(tmp, EXPORT_FILES.config), config);
  });
  return config;
}

/** Reads and checks `config.json` of an export directory. */
async function readExportConfig(dir: string): Promise<ExportConfig> {
  const { join } = await import('node:path');
  const path = join(dir, EXPORT_FILES.config);
  const cfg = (await readJsonIfExists(path)) as ExportConfig | undefined;
  if (!cfg) throw new MmesidError(`${path}: not found; expected a directory written by exportSemanticIds`);
  if (cfg.format !== 'mmesid-semantic-ids' || cfg.version !== 1)
    throw new MmesidError(
      `${path}: format "${cfg.format}" version ${cfg.version}, expected "mmesid-semantic-ids" version 1`,
    );
  const count = (key: 'rows' | 'firstItemId' | 'levels' | 'codebookSize', min: number) => {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < min)
      throw new MmesidError(`${path}: "${key}" is ${JSON.stringify(v)}, expected an integer >= ${min}`);
  };
  count('rows', 1);
  count('firstItemId', 0);
  count('levels', 1);
  count('codebookSize', 1);
  const ms = cfg.modalities as unknown;
  if (
    !Array.isArray(ms) ||
    ms.length === 0 ||
    !ms.every(
      (m) =>
        typeof m?.name === 'string' &&
        Number.isInteger(m.latentDim) &&
        m.latentDim > 0 &&
        Number.isInteger(m.inputDim) &&
        m.inputDim > 0,
    )
  )
    throw new MmesidError(
      `${path}: "modalities" must be a non-empty list of { name, inputDim, latentDim }, got ${JSON.stringify(ms)?.slice(0, 80)}`,
    );
  return cfg;
}

/**
 * Loads an export written by {@link exportSemanticIds} as plain typed arrays, checking every
 * tensor's shape against `config.json`.
 *
 * @throws {ShapeError} naming the tensor whose shape is wrong; `MmesidError` for a missing or foreign config.
 */
export async function loadExport(dir: string): Promise<SemanticIdExport> {
  const { join } = await import('node:path');
  const config = await readExportConfig(dir);
  const file = join(dir, EXPORT_FILES.semanticIds);
  const tensors = await loadSafetensors(file);
  try {
    const modalities: Record<string, ExportedModality> = {};
    const { rows, levels, codebookSize } = config;
    for (const m of config.modalities) {
      const get = async (key: string, shape: number[]) => {
        const t = tensors.get(key);
        if (!t) throw new ShapeError(`${file}: no tensor "${key}" (config.json lists modality "${m.name}")`);
        if (t.shape.join() !== shape.join())
          throw new ShapeError(`${file} [${key}]: shape [${t.shape}], config.json implies [${shape}]`);
        return t.data();
      };
      modalities[m.name] = {
        ids: Int32Array.from((await get(`${m.name}.ids`, [rows, levels])) as Int32Array),
        codebooks: (await get(`${m.name}.codebooks`, [levels, codebookSize, m.latentDim])) as Float32Array,
        quantized: (await get(`${m.name}.quantized`, [rows, m.latentDim])) as Float32Array,
        rows,
        levels,
        codebookSize,
        dim: m.latentDim,
      };
    }
    return { config, modalities };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * Rebuilds the tokenizer of an export (an `MMRQVAE` in eval mode, or a fitted `RQKMeans`) from
 * `tokenizer.safetensors`, to assign semantic IDs to new items. The caller disposes it.
 */
export async function loadTokenizer(dir: string): Promise<MMRQVAE | RQKMeans> {
  const { join } = await import('node:path');
  const config = await readExportConfig(dir);
  const tokenizer =
    config.kind === 'mm-rqvae'
      ? new MMRQVAE(config.tokenizer as RqvaeConfig, { skipInit: true })
      : new RQKMeans(config.tokenizer as RqKMeansConfig);
  const file = join(dir, EXPORT_FILES.tokenizer);
  const weights = await loadSafetensors(file);
  try {
    tokenizer.loadStateDict(Object.fromEntries(weights), { context: file });
  } catch (e) {
    tokenizer.dispose();
    throw e;
  } finally {
    for (const t of weights.values()) t.dispose();
  }
  if (tokenizer instanceof RQKMeans) tokenizer.markFitted();
  else tokenizer.eval();
  return tokenizer;
}
