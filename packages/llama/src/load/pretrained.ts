/**
 * Loading Hugging Face Llama checkpoints (config.json + model.safetensors or sharded
 * model-0000N-of-0000M.safetensors with model.safetensors.index.json): from a local directory in Node
 * (tensor by tensor), from a base URL (fetch, progress, Cache API) or from File/Blob objects.
 */
import {
  ConfigError,
  isLocalDirSource,
  MmesidError,
  type ModelSource,
  type ModelSourceOptions,
  modelFiles,
  openCheckpoint,
  openCheckpointFiles,
  parseJson,
  StateDictError,
  type tf,
} from '@mmesid/tensor';
import { LlamaForCausalLM } from '../causal-lm.js';
import { type LlamaConfig, parseLlamaConfig } from '../config.js';
import { LlamaModel } from '../llama-model.js';
import { findLlama2cCheckpoint, llama2cFromBytes, llama2cModelFromBytes } from './llama2c.js';
import {
  checkMemoryBudget,
  detectMemoryBudget,
  formatBytes,
  InsufficientMemoryError,
  type MemoryBudget,
  TFJS_BYTES_PER_PARAM,
} from './memory.js';
import { llamaParameterShapes } from './tensor-names.js';

/** A folder without config.json that holds a legacy llama2.c checkpoint: that checkpoint's path. */
async function llama2cFallback(dir: string): Promise<string | undefined> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  if (existsSync(join(dir, 'config.json'))) return undefined;
  return findLlama2cCheckpoint(dir);
}

/** Options of {@link fromPretrained} and {@link loadLlamaModel}. */
export interface FromPretrainedOptions extends ModelSourceOptions {
  /** The dtype the weights are held in. tfjs computes in float32 only, so that is the one choice. */
  dtype?: 'float32';
  /** Print the parameter count, memory and progress (default true), or pass a line sink. */
  log?: boolean | ((line: string) => void);
  /** What to do when the weights do not fit the backend's memory: throw (default), warn, or skip the check. */
  memoryCheck?: 'error' | 'warn' | 'off';
  /** Use these figures instead of detecting them (tests, or a GPU whose memory you know). */
  memoryBudget?: MemoryBudget;
  /** Default attention kind of the model (see `LlamaInitOptions.causal`). */
  causal?: boolean;
}

/** Keys some older checkpoints store although they are derived from the config. */
const DERIVED_KEY = /(^|\.)rotary_emb\.inv_freq$/;

function logger(opt: FromPretrainedOptions['log']): (line: string) => void {
  if (typeof opt === 'function') return opt;
  return opt === false ? () => {} : (line) => console.log(line);
}

/** Reads and validates `<dir>/config.json`. */
export async function readLlamaConfig(dir: string): Promise<LlamaConfig> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the model config (${(e as Error).message})`);
  }
  return parseLlamaConfig(parseJson(text, file, ConfigError), file);
}

type Kind = 'causal' | 'base';

async function load(
  source: ModelSource,
  kind: Kind,
  opts: FromPretrainedOptions,
): Promise<LlamaForCausalLM | LlamaModel> {
  if (opts.dtype !== undefined && opts.dtype !== 'float32')
    throw new ConfigError(
      `fromPretrained: dtype "${String(opts.dtype)}" is not supported; tfjs computes in float32, so F16/BF16 weights are converted to float32`,
    );
  const log = logger(opts.log);
  let dir: string;
  let cfg: LlamaConfig;
  let ckpt: Awaited<ReturnType<typeof openCheckpoint>>;
  if (isLocalDirSource(source)) {
    dir = source;
    const legacy = await llama2cFallback(dir);
    if (legacy) {
      const { readFile } = await import('node:fs/promises');
      const bytes = new Uint8Array(await readFile(legacy));
      const init = opts.causal !== undefined ? { causal: opts.causal } : {};
      const m =
        kind === 'causal'
          ? llama2cFromBytes(bytes, legacy, init)
          : llama2cModelFromBytes(bytes, legacy, init);
      const c = m.config;
      log(
        `[llama] ${legacy}: llama2.c legacy checkpoint, ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, vocab ${c.vocab_size}` +
          (c.tie_word_embeddings ? ' (shared classifier)' : ''),
      );
      return m;
    }
    cfg = await readLlamaConfig(dir);
    ckpt = await openCheckpoint(dir);
  } else {
    const files = modelFiles(source, opts);
    dir = files.label;
    cfg = parseLlamaConfig(await files.json('config.json'), files.where('config.json'));
    ckpt = await openCheckpointFiles(files);
  }
  let model: LlamaForCausalLM | LlamaModel | undefined;
  try {
    const keys = ckpt.keys();
    const prefixed = keys.some((k) => k.startsWith('model.'));
    // Checkpoint key -> our parameter name, for every tensor we load.
    const plan = new Map<string, string>();
    const ignored: string[] = [];
    for (const key of keys) {
      if (DERIVED_KEY.test(key)) {
        ignored.push(key);
        continue;
      }
      if (kind === 'causal') plan.set(key, key === 'lm_head.weight' || prefixed ? key : `model.${key}`);
      else if (key === 'lm_head.weight') ignored.push(key);
      else plan.set(key, key.startsWith('model.') ? key.slice('model.'.length) : key);
    }
    const lmHead = kind === 'causal' && plan.has('lm_head.weight');
    const expected = llamaParameterShapes(cfg, { prefix: kind === 'causal' ? 'model.' : '', lmHead });
    const targets = new Set(plan.values());
    const missing = [...expected.keys()].filter((k) => !targets.has(k));
    const unexpected = [...plan].filter(([, name]) => !expected.has(name)).map(([key]) => key);
    const mismatched: { key: string; expected: number[]; got: number[] }[] = [];
    const dtypes = new Map<string, number>();
    let numParams = 0;
    let largest = 0;
    for (const [key, name] of plan) {
      const info = ckpt.info(key);
      dtypes.set(info.dtype, (dtypes.get(info.dtype) ?? 0) + 1);
      const want = expected.get(name);
      if (!want) continue;
      if (want.length !== info.shape.length || want.some((d, i) => d !== info.shape[i]))
        mismatched.push({ key, expected: want, got: [...info.shape] });
      const n = info.shape.reduce((a, b) => a * b, 1);
      numParams += n;
      largest = Math.max(largest, n * TFJS_BYTES_PER_PARAM);
    }
    if (missing.length || unexpected.length || mismatched.length)
      throw new StateDictError(missing, unexpected, mismatched, `checkpoint ${dir}`);

    const onDisk = [...dtypes].map(([d, n]) => `${d} x${n}`).join(', ');
    log(
      `[llama] ${dir}: ${cfg.num_hidden_layers} layers, hidden ${cfg.hidden_size}, ${plan.size} tensors (${onDisk})` +
        `${ckpt.sharded ? ` in ${ckpt.files.length} shards` : ''}; ${numParams.toLocaleString('en-US')} parameters` +
        (cfg.tie_word_embeddings
          ? lmHead
            ? ' (tied embeddings, but the checkpoint has its own lm_head.weight: using it)'
            : ' (tied embeddings)'
          : ''),
    );
    if (ignored.length) log(`[llama] not loaded (derived or unused): ${ignored.join(', ')}`);
    const check = checkMemoryBudget(
      { numParams, largestTensorBytes: largest },
      opts.memoryBudget ?? (await detectMemoryBudget()),
    );
    log(`[llama] memory: ${check.message}`);
    if (!check.ok && (opts.memoryCheck ?? 'error') === 'error')
      throw new InsufficientMemoryError(
        `${dir}: not enough memory to load this model in float32 (tfjs has no 16-bit or 4-bit compute). ${check.message} ` +
          'Pass { memoryCheck: "warn" } to try anyway.',
      );

    const t0 = performance.now();
    const init = { skipInit: true, ...(opts.causal !== undefined ? { causal: opts.causal } : {}) };
    model = kind === 'causal' ? new LlamaForCausalLM(cfg, { ...init, lmHead }) : new LlamaModel(cfg, init);
    const params = model.stateDict() as Record<string, tf.Variable>;
    let done = 0;
    for (const [key, name] of plan) {
      const t = await ckpt.readTensor(key, { dtype: 'float32' });
      try {
        params[name]!.assign(t);
      } finally {
        t.dispose();
      }
      done++;
      if (plan.size >= 50 && done % Math.ceil(plan.size / 10) === 0)
        log(`[llama] loaded ${done}/${plan.size} tensors`);
    }
    log(
      `[llama] loaded ${formatBytes(numParams * TFJS_BYTES_PER_PARAM)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    return model;
  } catch (e) {
    model?.dispose();
    if (e instanceof MmesidError) throw e;
    throw new MmesidError(`${dir}: loading the checkpoint failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await ckpt.close();
  }
}

/**
 * Loads a Hugging Face `LlamaForCausalLM` checkpoint directory into a {@link LlamaForCausalLM}.
 *
 * `dir` is a local directory (Node), a base URL (`'https://host/models/stories260k/'`; in a browser
 * a page-relative path too) whose files are fetched with `onProgress` reports and kept in the Cache
 * API where there is one (`cache`), or the checkpoint's `File`/`Blob` objects by name (a folder
 * picked with `<input type="file" webkitdirectory>`). URL and Blob checkpoints are held in memory
 * while they load; a local directory is read one tensor at a time.
 *
 * Before allocating anything it validates config.json, matches every checkpoint tensor to a parameter
 * (any missing, unknown or mis-shaped tensor is a `StateDictError` listing them all), prints the
 * parameter count and the float32 memory it needs, and refuses (`InsufficientMemoryError`) when that
 * exceeds what the backend has (see `detectMemoryBudget`). Then it reads one tensor at a time, converting
 * F16/BF16 to float32, so peak host memory stays near one tensor beyond the model.
 *
 * Tied embeddings: without `lm_head.weight` the logits use `model.embed_tokens.weight`; when the
 * checkpoint stores `lm_head.weight` anyway (stories260k does), that tensor is loaded and used.
 *
 * Gotcha: Llama3-8B needs about 32 GB in float32 (8.03e9 x 4 bytes) even from a BF16 checkpoint.
 *
 * @example
 * const lm = await fromPretrained('/models/stories260k', { log: false });
 * const { ids } = await lm.generate([1], { maxNewTokens: 16 });
 * lm.dispose();
 */
export async function fromPretrained(
  dir: ModelSource,
  opts: FromPretrainedOptions = {},
): Promise<LlamaForCausalLM> {
  return (await load(dir, 'causal', opts)) as LlamaForCausalLM;
}

/**
 * Loads only the decoder stack ({@link LlamaModel}) from a causal-LM checkpoint (`model.*` keys;
 * `lm_head.weight` is skipped) or from a bare `LlamaModel` checkpoint without the prefix (what LLM2Vec
 * and LLM2CLIP save). Same checks as {@link fromPretrained}.
 */
export async function loadLlamaModel(
  dir: ModelSource,
  opts: FromPretrainedOptions = {},
): Promise<LlamaModel> {
  return (await load(dir, 'base', opts)) as LlamaModel;
}
