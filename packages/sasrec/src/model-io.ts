import { nodeBuiltins, readJson, writeJsonAtomic } from '@mmesid/core';
import { loadSafetensors, MmesidError, saveSafetensors, tf } from '@mmesid/tensor';
import { type SasrecConfig, sasrecConfig } from './config.js';
import { SASRec } from './model.js';

/** What the file parts of this package say outside Node. */
export const NODE_ONLY = '@mmesid/sasrec: checkpoints and exported tables';

/** The file names of a saved model directory. */
export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

/**
 * Saves a SASRec model as `model.safetensors` (every parameter under its reference-code name,
 * float32, `__metadata__.format = "pt"`) plus `config.json` (the architecture), Hugging Face
 * style, so Python can read it. Both files are written atomically. Does not dispose anything.
 *
 * @example
 * await saveSasrec('runs/beauty/final', model);
 * const again = await loadSasrec('runs/beauty/final');
 */
export async function saveSasrec(
  dir: string,
  model: SASRec,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const { fsp, path } = await nodeBuiltins(NODE_ONLY);
  await fsp.mkdir(dir, { recursive: true });
  await saveSafetensors(path.join(dir, MODEL_FILE), model.stateDict(), { metadata: { format: 'pt' } });
  await writeJsonAtomic(path.join(dir, CONFIG_FILE), { model_type: 'sasrec', ...extra, ...model.config });
}

/**
 * Builds a model from a directory written by {@link saveSasrec}: the architecture from
 * `config.json`, the weights from `model.safetensors`, loaded strictly (a missing, unexpected or
 * mis-shaped tensor throws `StateDictError` naming it). The model starts in eval mode.
 */
export async function loadSasrec(dir: string): Promise<SASRec> {
  const { path } = await nodeBuiltins(NODE_ONLY);
  const cfgFile = path.join(dir, CONFIG_FILE);
  // readJson refuses a key said twice (JSON.parse would keep the last): a config says each thing once.
  const raw = await readJson(cfgFile);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new MmesidError(
      `${cfgFile}: expected a JSON object with the SASRec config, got ${JSON.stringify(raw)?.slice(0, 80)}`,
    );
  const { numItems, hiddenUnits, numBlocks, numHeads, maxLen, dropout, layerNormEps } = raw as Record<
    string,
    unknown
  >;
  let cfg: SasrecConfig;
  try {
    cfg = sasrecConfig({
      numItems,
      hiddenUnits,
      numBlocks,
      numHeads,
      maxLen,
      dropout,
      layerNormEps,
    } as never);
  } catch (e) {
    throw new MmesidError(`${cfgFile}: ${(e as Error).message}`, { cause: e });
  }
  const model = new SASRec(cfg, { skipInit: true });
  try {
    await loadWeights(model, path.join(dir, MODEL_FILE));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

/** Loads `file` (safetensors) into `model` strictly and frees the read tensors. */
export async function loadWeights(model: SASRec, file: string): Promise<void> {
  const tensors = await loadSafetensors(file);
  try {
    model.loadStateDict(Object.fromEntries(tensors), { context: file });
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
