/**
 * @mmesid/llama: the Llama architecture (grouped-query attention, rotate-half RoPE with Llama 3
 * scaling, RMSNorm, SwiGLU) on TensorFlow.js, with Hugging Face and llama2.c loaders, tokenizers and
 * chat templates, a KV cache and generation, and an `inputsEmbeds` path for mixing item embeddings
 * into prompts (MME-SID's fine-tuning stage).
 */

export { type AttentionContext, LlamaAttention } from './attention.js';
export {
  type CausalLMForwardOptions,
  type CausalLMOutput,
  LlamaForCausalLM,
  type LlamaForCausalLMOptions,
} from './causal-lm.js';
export {
  countLlamaParameters,
  LinearRopeScalingSchema,
  LLAMA_CONFIG_DEFAULTS,
  Llama3RopeScalingSchema,
  type LlamaConfig,
  LlamaConfigSchema,
  parseLlamaConfig,
  type RopeScaling,
  RopeScalingSchema,
} from './config.js';
export { LlamaDecoderLayer } from './decoder-layer.js';
export { type GenerateOptions, type GenerateResult, generate } from './generate.js';
export { KVCache } from './kv-cache.js';
export {
  type LlamaForwardOptions,
  type LlamaInitOptions,
  LlamaModel,
  type LlamaModelOutput,
} from './llama-model.js';
export {
  findLlama2cCheckpoint,
  type Llama2cHeader,
  llama2cConfig,
  llama2cFromBytes,
  llama2cModelFromBytes,
  llama2cWeights,
  loadLlama2c,
  parseLlama2cHeader,
  permuteRopeRows,
} from './load/llama2c.js';
export {
  checkMemoryBudget,
  detectMemoryBudget,
  formatBytes,
  InsufficientMemoryError,
  type MemoryBudget,
  type MemoryCheck,
  TFJS_BYTES_PER_PARAM,
  WASM_HEAP_LIMIT_BYTES,
} from './load/memory.js';
export {
  type FromPretrainedOptions,
  fromPretrained,
  loadLlamaModel,
  readLlamaConfig,
} from './load/pretrained.js';
export { llamaParameterShapes } from './load/tensor-names.js';
export { attentionBias, defaultPositions, type IntMatrix, MASKED_SCORE } from './masks.js';
export { LlamaMLP } from './mlp.js';
export { applyRotary, computeInvFreq, RopeTable, ropeCosSin, rotateHalf } from './rope.js';
export { argmax, sampleToken, softmaxWithTemperature } from './sampling.js';
export { type ChatMessage, type ChatTemplateOptions, HfTokenizer } from './tokenizer/hf.js';
export {
  checkTokenizerConfig,
  checkTokenizerJson,
  TOKENIZER_COMPONENT_TYPES,
  TOKENIZER_MODEL_TYPES,
  TokenizerFileError,
} from './tokenizer/hf-check.js';
export { type Llama2cPiece, Llama2cTokenizer } from './tokenizer/llama2c.js';
