import { saveSafetensors } from '@mmesid/tensor';
import type { LoraModel } from '../lora-model.js';
import { type PeftConfigInfo, stringifyPeftConfig, toPeftConfig } from './adapter-config.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './load.js';

/** Options of {@link saveAdapter}. */
export interface SaveAdapterOptions extends PeftConfigInfo {
  /** Dtype of the saved weights (default F32; PEFT saves in the model's dtype, often BF16). */
  floatDtype?: 'F32' | 'F16' | 'BF16';
}

function tempSuffix(): string {
  const rand = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  return `.tmp-${process.pid}-${rand}`;
}

/**
 * Saves the adapter in PEFT's layout, readable by `PeftModel.from_pretrained(model, dir)` in Python:
 * `dir/adapter_config.json` (PEFT's `LoraConfig` fields, sorted, 2-space indent) and
 * `dir/adapter_model.safetensors` (`lora_A`/`lora_B` and `modules_to_save` weights under PEFT key names,
 * `{"format": "pt"}` metadata). Node only.
 *
 * Atomic: both files are written into a temporary directory beside `dir` which is then renamed to
 * `dir`. If `dir` already exists and holds other files (a tokenizer, a previous save), each file is
 * renamed over its old version instead, weights first: a reader then sees whole files, old or new.
 *
 * Saving while merged is fine: A and B are kept apart from the base weights.
 *
 * @example
 * await saveAdapter(lora, './runs/beauty/adapter', {
 *   baseModelNameOrPath: 'meta-llama/Meta-Llama-3-8B-Instruct',
 *   taskType: 'CAUSAL_LM',
 * });
 * // Python: PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), './runs/beauty/adapter')
 */
export async function saveAdapter(
  lora: LoraModel,
  dir: string,
  opts: SaveAdapterOptions = {},
): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const target = path.resolve(dir);
  const config = toPeftConfig(lora.config, [...lora.layers.keys()], opts);
  const state = lora.adapterStateDict();
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = target + tempSuffix();
  await fs.mkdir(tmp);
  try {
    await saveSafetensors(path.join(tmp, ADAPTER_WEIGHTS_FILE), state, {
      metadata: { format: 'pt' },
      floatDtype: opts.floatDtype ?? 'F32',
    });
    await fs.writeFile(path.join(tmp, ADAPTER_CONFIG_FILE), stringifyPeftConfig(config));
    try {
      await fs.rename(tmp, target);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
    for (const f of [ADAPTER_WEIGHTS_FILE, ADAPTER_CONFIG_FILE])
      await fs.rename(path.join(tmp, f), path.join(target, f));
    await fs.rmdir(tmp);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
