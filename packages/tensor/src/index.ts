/**
 * @mmesid/tensor: the contract every other @mmesid package builds on. Backend selection, a
 * PyTorch-shaped Module with named parameters and state dicts, layers, AdamW and schedules, a
 * seeded RNG, safetensors I/O and leak checks, over one shared tfjs instance (`tf`).
 */

// The seeded RNG and the atomic file helpers live in the dependency-free @mmesid/core (shared with
// @mmesid/datasets); re-exported so model packages import them with the rest of the contract.
export {
  describeDuplicateKey,
  firstDuplicateKey,
  parseJson,
  pathExists,
  Rng,
  readJson,
  readJsonIfExists,
  writeDirAtomic,
  writeJsonAtomic,
} from '@mmesid/core';
export {
  type BackendChoice,
  type BackendName,
  BROWSER_BACKEND_ORDER,
  checkBackend,
  formatChoice,
  type InitBackendOptions,
  initBackend,
  isBrowser,
  NODE_BACKEND_ORDER,
} from './backend.js';
export { callChild, type TensorForward } from './call-child.js';
export {
  BackendError,
  ConfigError,
  LeakError,
  listPreview,
  MmesidError,
  SafetensorsError,
  ShapeError,
  StateDictError,
} from './errors.js';
export {
  type Initializer,
  kaimingNormal,
  kaimingUniform,
  normal,
  ones,
  uniform,
  xavierNormal,
  xavierUniform,
  zeros,
} from './init.js';
export {
  isLocalDirSource,
  type LoadProgress,
  type ModelFileMap,
  type ModelFiles,
  type ModelSource,
  type ModelSourceOptions,
  modelFiles,
  openCheckpointFiles,
} from './io/model-files.js';
export {
  type ActivationName,
  activation,
  gelu,
  geluTanh,
  quickGelu,
  relu,
  silu,
} from './layers/activations.js';
export { Dropout } from './layers/dropout.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { MLP, type MLPOptions } from './layers/mlp.js';
export { LayerNorm, RMSNorm } from './layers/norm.js';
export { expectNoLeaks, liveTensors } from './leaks.js';
export { type SymmetricEigen, symmetricEigen, symmetricEigenvalues } from './linalg/symmetric-eigen.js';
export { expectLastDim, Module } from './module.js';
export { ModuleList } from './module-list.js';
export {
  ADAMW_UPDATE,
  type AdamWUpdateAttrs,
  adamwUpdate,
  adamwUpdateComposite,
  registerAdamWUpdate,
} from './ops/adamw-update.js';
export { COUNT_AT_LEAST, countAtLeast, registerCountAtLeast } from './ops/count-at-least.js';
export { gatherRows } from './ops/gather-rows.js';
export {
  GAUSSIAN_MMD,
  type GaussianMmdAttrs,
  gaussianMmdStats,
  hasGaussianMmdKernel,
  registerGaussianMmd,
} from './ops/gaussian-mmd.js';
export { LINEAR, LINEAR_GRAD, linear, linearComposite } from './ops/linear.js';
export {
  LOG_NORMALIZE,
  logNormalize,
  logNormalizeComposite,
  registerLogNormalize,
} from './ops/log-normalize.js';
export { logSumExp } from './ops/log-sum-exp.js';
export {
  NEAREST_FROM_PRODUCTS,
  nearestFromProducts,
  nearestFromProductsComposite,
  registerNearestFromProducts,
} from './ops/nearest-from-products.js';
export { RMS_NORM, RMS_NORM_GRAD, rmsNorm, rmsNormComposite } from './ops/rms-norm.js';
export { ROTARY_HALF, rotaryHalf, rotaryHalfComposite } from './ops/rotary.js';
export { seededDropout } from './ops/seeded-dropout.js';
export {
  registerSinkhornArgMax,
  SINKHORN_ARGMAX,
  sinkhornArgMax,
  sinkhornArgMaxComposite,
} from './ops/sinkhorn-argmax.js';
export {
  registerSoftmaxCrossEntropy,
  SOFTMAX_CROSS_ENTROPY,
  SOFTMAX_CROSS_ENTROPY_GRAD,
  softmaxCrossEntropy,
  softmaxCrossEntropyComposite,
} from './ops/softmax-cross-entropy.js';
export { stopGradient } from './ops/stop-gradient.js';
export { SWIGLU, SWIGLU_GRAD, swiglu, swigluComposite } from './ops/swiglu.js';
export { installSharedTapeSave, uninstallSharedTapeSave } from './ops/tape-save.js';
export { registerWasmIdentity, unregisterWasmIdentity } from './ops/wasm-identity.js';
export {
  registerWasmMatMul,
  setWasmMatMulRoute,
  WASM_MATMUL_SMALL,
  type WasmMatMulRoute,
} from './ops/wasm-matmul.js';
export {
  registerWeightedTermSum,
  WEIGHTED_TERM_SUM,
  WEIGHTED_TERM_SUM_GRAD,
  weightedTermSum,
  weightedTermSumComposite,
} from './ops/weighted-term-sum.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { clipGradNorm } from './optim/clip.js';
export {
  constantSchedule,
  type LrSchedule,
  warmupCosineSchedule,
  warmupLinearSchedule,
} from './optim/schedule.js';
export { type StepResult, Trainer, type TrainerOptions } from './optim/trainer.js';
export {
  type FoundTrainingCheckpoint,
  readTrainingCheckpoint,
  restoreTrainingCheckpoint,
  saveTrainingCheckpoint,
  TRAINING_CHECKPOINT_FILES,
  TRAINING_CHECKPOINT_VERSION,
  type TrainingCheckpointParts,
} from './optim/training-checkpoint.js';
export {
  type BackendReport,
  backendReport,
  type MatmulFigure,
  measureMatmul,
  timePerCall,
} from './report.js';
export * from './safetensors/index.js';
export type { DataType, NamedTensorMap, Rank, Tensor, Variable } from './tf.js';
export { tf } from './tf.js';
