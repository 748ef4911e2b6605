import type { LlamaForCausalLM } from '@mmesid/llama';
import { ADAPTER_CONFIG_FILE, loadAdapter, saveAdapter } from '@mmesid/lora';
import {
  ConfigError,
  loadSafetensors,
  pathExists,
  readJson,
  saveSafetensors,
  tf,
  writeDirAtomic,
} from '@mmesid/tensor';
import { SidVocabularyMismatchError } from './errors.js';
import { GenerativeRecommender } from './generative-model.js';
import type { SidVocabulary, SidVocabularySpec } from './sid-vocabulary.js';

/** File names of a generative checkpoint directory. */
export const GENERATIVE_FILES = Object.freeze({
  config: 'generative_config.json',
  tokens: 'sid_tokens.safetensors',
  /** PEFT adapter folder (`adapter_config.json`, `adapter_model.safetensors`), when LoRA is used. */
  adapter: 'adapter',
});

/** What `generative_config.json` holds. */
export interface GenerativeCheckpointConfig {
  format: 'mmesid-generative';
  version: 1;
  vocab: SidVocabularySpec;
  textVocab: number;
  hidden: number;
  prompt: { prefix: number[]; suffix: number[] };
  normalize: 'vocabulary' | 'sid';
  maxHistory: number;
  tied: boolean;
  init: 'random' | 'codebook';
}

/**
 * Saves the trained parts: the new SID tokens (safetensors), the LoRA adapter (PEFT layout) and the
 * config with the SID vocabulary's spec, atomically (written beside `dir`, then renamed). The base
 * Llama is not copied.
 */
export async function saveGenerative(model: GenerativeRecommender, dir: string): Promise<void> {
  const config: GenerativeCheckpointConfig = {
    format: 'mmesid-generative',
    version: 1,
    vocab: model.vocab.spec(),
    textVocab: model.textVocab,
    hidden: model.hidden,
    prompt: { prefix: [...model.prompt.prefix], suffix: [...model.prompt.suffix] },
    normalize: model.normalize,
    maxHistory: model.maxHistory,
    tied: model.sidTokens.tied,
    init: model.init,
  };
  await writeDirAtomic(dir, async (tmp) => {
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await writeFile(join(tmp, GENERATIVE_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
    const sd = model.sidTokens.stateDict();
    await saveSafetensors(join(tmp, GENERATIVE_FILES.tokens), sd, { metadata: { format: 'pt' } });
    if (model.lora) await saveAdapter(model.lora, join(tmp, GENERATIVE_FILES.adapter));
  });
}

/**
 * Loads a checkpoint onto a base Llama (taken over) for the SID vocabulary built from the current
 * semantic-ID tokenizer.
 *
 * @throws SidVocabularyMismatchError when the saved vocabulary, text vocabulary or width differs from
 *   the given ones, naming both sides
 */
export async function loadGenerative(
  dir: string,
  opts: { lm: LlamaForCausalLM; vocab: SidVocabulary; seed?: number },
): Promise<GenerativeRecommender> {
  const { join } = await import('node:path');
  const file = join(dir, GENERATIVE_FILES.config);
  const cfg = (await readJson(file)) as GenerativeCheckpointConfig;
  if (cfg?.format !== 'mmesid-generative' || cfg.version !== 1)
    throw new ConfigError(
      `${file}: not a generative checkpoint (format "${String(cfg?.format)}", version ${String(cfg?.version)})`,
    );
  opts.vocab.assertMatches(cfg.vocab, `checkpoint ${dir}`);
  const lmCfg = opts.lm.config;
  if (cfg.textVocab !== lmCfg.vocab_size || cfg.hidden !== lmCfg.hidden_size)
    throw new SidVocabularyMismatchError(
      `checkpoint ${dir} was trained on a Llama with text vocabulary ${cfg.textVocab} and width ${cfg.hidden}, ` +
        `the given Llama has vocabulary ${lmCfg.vocab_size} and width ${lmCfg.hidden_size}`,
    );
  const adapterDir = join(dir, GENERATIVE_FILES.adapter);
  const hasAdapter = await pathExists(join(adapterDir, ADAPTER_CONFIG_FILE));
  if (hasAdapter) await loadAdapter(opts.lm, adapterDir, { trainable: true, seed: opts.seed ?? 0 });
  const model = new GenerativeRecommender({
    lm: opts.lm,
    vocab: opts.vocab,
    prompt: cfg.prompt,
    normalize: cfg.normalize,
    maxHistory: cfg.maxHistory,
    tied: cfg.tied,
    init: cfg.init,
    lora: null,
    skipInit: true,
  });
  const tensors = await loadSafetensors(join(dir, GENERATIVE_FILES.tokens));
  try {
    model.sidTokens.loadStateDict(Object.fromEntries(tensors));
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return model;
}
