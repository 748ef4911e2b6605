/**
 * @mmesid/lora: LoRA adapters over any `Linear` of an @mmesid/tensor `Module`, chosen by module-name
 * patterns (PEFT semantics), with merge/unmerge and save/load in PEFT's on-disk layout so adapters
 * move between TypeScript and Python.
 */

export { applyLora } from './apply.js';
export {
  LORA_DEFAULTS,
  type LoraConfig,
  LoraConfigSchema,
  type LoraOptions,
  loraScaling,
  parseLoraConfig,
  type TargetPattern,
} from './config.js';
export { AdapterMismatchError, type AdapterShapeMismatch } from './errors.js';
export { LoraLinear, type LoraLinearOptions } from './lora-linear.js';
export { getLora, LoraModel, removeLora } from './lora-model.js';
export {
  fromPeftConfig,
  type PeftConfigInfo,
  type PeftLoraConfig,
  PeftLoraConfigSchema,
  parsePeftConfig,
  stringifyPeftConfig,
  toPeftConfig,
} from './peft/adapter-config.js';
export { type AdapterFiles, loadAdapterFromFiles, serializeAdapter } from './peft/bytes.js';
export { fromPeftKey, type LoraKeyKind, loraKeyKind, PEFT_PREFIX, toPeftKey } from './peft/keys.js';
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  type LoadAdapterOptions,
  loadAdapter,
  loadAdapterWeights,
} from './peft/load.js';
export { type SaveAdapterOptions, saveAdapter } from './peft/save.js';
export { type TrainableSummary, trainableSummary } from './summary.js';
export { describePattern, matchesPattern, type ResolvedTargets, resolveTargets } from './targets.js';
