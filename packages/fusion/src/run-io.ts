import { type LlamaConfig, LlamaModel, loadLlamaModel, parseLlamaConfig } from '@mmesid/llama';
import { loadAdapterFromFiles, loraKeyKind, saveAdapter, serializeAdapter } from '@mmesid/lora';
import {
  loadSafetensorsBytes,
  MmesidError,
  type Module,
  parseJson,
  ShapeError,
  saveSafetensors,
  serializeSafetensorsAsync,
  tf,
  writeDirAtomic,
} from '@mmesid/tensor';
import { type FusionConfig, parseFusionConfig } from './config.js';
import type { ItemTable, ModalitySemanticIds } from './item-data.js';
import { FREQUENCY_KEY, MmeSidModel } from './model.js';
import { type PromptStyle, promptFromIds } from './prompt.js';

/** The files of an exported run. */
export const RUN_FILES = Object.freeze({
  /** {@link RunManifest}. */
  manifest: 'run.json',
  /**
   * Every tensor of the model outside the LLM, by model path (`item_tokenizer.tables.<m>.weight`,
   * `item_tokenizer.sid.<m>.codes`, `item_tokenizer.sid.<m>.ids`, `head.target_table_t` ([d, N + 1]),
   * `head.fusion.*`, `frequency_feature` [N + 1]).
   */
  fusion: 'fusion.safetensors',
  /** A merged LLM in Hugging Face layout: `llm/config.json`, `llm/model.safetensors`. */
  llmDir: 'llm',
  /** A PEFT adapter: `adapter/adapter_config.json`, `adapter/adapter_model.safetensors`. */
  adapterDir: 'adapter',
});

/** `run.json`: what a run needs besides its tensors. */
export interface RunManifest {
  format: 'mmesid-fusion-run';
  version: 1;
  fusion: FusionConfig;
  numItems: number;
  hidden: number;
  prompt: { prefix: number[]; suffix: number[]; text: string; style: PromptStyle };
  /** Item-table widths by modality. */
  tables: Record<string, { cols: number }>;
  /** SID shapes by modality (when the tokens use SIDs). */
  semanticIds: Record<string, { levels: number; codebookSize: number; dim: number }>;
  /** Fusion terms, the columns of the fusion weights. */
  terms: string[];
  /** `merged`: the LLM with LoRA folded in is in `llm/`; `adapter`: a PEFT adapter for `baseModel`. */
  llm: { kind: 'merged' | 'adapter'; config: LlamaConfig; baseModel?: string };
  metadata: Record<string, unknown>;
}

/** Options of {@link exportRun}. */
export interface ExportRunOptions {
  /**
   * `'merged'` (default): write the LLM with the LoRA update folded into its weights (self-contained;
   * what a browser loads; 4 bytes per parameter). `'adapter'`: write only the PEFT adapter and record
   * `baseModel`, the base checkpoint directory (for Llama3-8B).
   */
  llm?: 'merged' | 'adapter';
  baseModel?: string;
  /** Attached to `run.json` (training result, metrics, dataset). */
  metadata?: Record<string, unknown>;
}

function ownTensors(model: MmeSidModel): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) if (!k.startsWith('llm.')) out[k] = v;
  return out;
}

/** The LLM's weights under plain Hugging Face names, with each LoRA update folded in (new tensors for adapted layers). */
function mergedLlmWeights(model: MmeSidModel): { tensors: Record<string, tf.Tensor>; created: tf.Tensor[] } {
  const tensors: Record<string, tf.Tensor> = {};
  const created: tf.Tensor[] = [];
  for (const [name, p] of model.llm.namedParameters()) {
    const k = loraKeyKind(name);
    if (k.kind === 'adapter') continue;
    if (k.kind === 'other') {
      tensors[name] = p;
      continue;
    }
    const layer = model.lora?.layers.get(k.module);
    const key = k.plainKey;
    if (k.param === 'weight' && layer && !layer.merged) {
      const w = tf.tidy(() => tf.add(p, layer.deltaWeight()));
      created.push(w);
      tensors[key] = w;
    } else tensors[key] = p;
  }
  return { tensors, created };
}

function manifestOf(model: MmeSidModel, opts: ExportRunOptions): RunManifest {
  const kind = opts.llm ?? 'merged';
  if (kind === 'adapter' && !model.lora)
    throw new MmesidError('exportRun: llm "adapter" needs a model with LoRA adapters');
  const semanticIds: RunManifest['semanticIds'] = {};
  const tables: RunManifest['tables'] = {};
  for (const m of model.config.modalities) {
    if (model.tokens.hasTable(m)) tables[m] = { cols: model.tokens.table(m).shape[1]! };
    const s = model.tokens.sidEmbedding(m);
    if (s)
      semanticIds[m] = {
        levels: s.levels,
        codebookSize: s.codebookSize,
        dim: model.tokens.sidEmbedding(m)!.codes.shape[2] as number,
      };
  }
  return {
    format: 'mmesid-fusion-run',
    version: 1,
    fusion: model.config,
    numItems: model.numItems,
    hidden: model.hidden,
    prompt: {
      prefix: [...model.prompt.prefix],
      suffix: [...model.prompt.suffix],
      text: model.prompt.text,
      style: model.prompt.style,
    },
    tables,
    semanticIds,
    terms: model.termNames,
    llm: { kind, config: model.llm.config, ...(opts.baseModel ? { baseModel: opts.baseModel } : {}) },
    metadata: opts.metadata ?? {},
  };
}

/**
 * Writes everything inference needs, as safetensors + JSON, atomically: `run.json` (configs, prompt
 * ids, shapes), `fusion.safetensors` (item tables, semantic IDs, SID embeddings, token MLP, target
 * table, fusion module, frequency feature) and the LLM, either merged (`llm/`, Hugging Face layout)
 * or as a PEFT adapter (`adapter/`). No tokenizer is needed to use it: the prompt is stored as ids.
 * Node only (see {@link serializeRun} for bytes).
 *
 * @example
 * await exportRun(model, 'runs/beauty/mme-sid', { metadata: { metrics } });
 * const again = await loadRun('runs/beauty/mme-sid');
 */
export async function exportRun(
  model: MmeSidModel,
  dir: string,
  opts: ExportRunOptions = {},
): Promise<RunManifest> {
  const { join } = await import('node:path');
  const { mkdir } = await import('node:fs/promises');
  const manifest = manifestOf(model, opts);
  await writeDirAtomic(dir, async (tmp) => {
    await saveSafetensors(join(tmp, RUN_FILES.fusion), ownTensors(model), { metadata: { format: 'pt' } });
    if (manifest.llm.kind === 'merged') {
      const { tensors, created } = mergedLlmWeights(model);
      try {
        await mkdir(join(tmp, RUN_FILES.llmDir));
        await saveSafetensors(join(tmp, RUN_FILES.llmDir, 'model.safetensors'), tensors, {
          metadata: { format: 'pt' },
        });
      } finally {
        for (const t of created) t.dispose();
      }
      const { writeFile } = await import('node:fs/promises');
      await writeFile(
        join(tmp, RUN_FILES.llmDir, 'config.json'),
        `${JSON.stringify(hfConfig(model.llm.config), null, 2)}\n`,
      );
    } else {
      await saveAdapter(model.lora!, join(tmp, RUN_FILES.adapterDir), {
        taskType: 'FEATURE_EXTRACTION',
        ...(opts.baseModel ? { baseModelNameOrPath: opts.baseModel } : {}),
      });
    }
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(tmp, RUN_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  return manifest;
}

/**
 * {@link exportRun} in memory (browsers, uploads): file name -> bytes, same files and contents.
 */
export async function serializeRun(
  model: MmeSidModel,
  opts: ExportRunOptions = {},
): Promise<Map<string, Uint8Array>> {
  const manifest = manifestOf(model, opts);
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>();
  files.set(RUN_FILES.fusion, await serializeSafetensorsAsync(ownTensors(model), { format: 'pt' }));
  if (manifest.llm.kind === 'merged') {
    const { tensors, created } = mergedLlmWeights(model);
    try {
      files.set(
        `${RUN_FILES.llmDir}/model.safetensors`,
        await serializeSafetensorsAsync(tensors, { format: 'pt' }),
      );
    } finally {
      for (const t of created) t.dispose();
    }
    files.set(
      `${RUN_FILES.llmDir}/config.json`,
      enc.encode(`${JSON.stringify(hfConfig(model.llm.config), null, 2)}\n`),
    );
  } else {
    const a = await serializeAdapter(model.lora!, {
      taskType: 'FEATURE_EXTRACTION',
      ...(opts.baseModel ? { baseModelNameOrPath: opts.baseModel } : {}),
    });
    files.set(`${RUN_FILES.adapterDir}/adapter_config.json`, enc.encode(a.config));
    files.set(`${RUN_FILES.adapterDir}/adapter_model.safetensors`, a.weights);
  }
  files.set(RUN_FILES.manifest, enc.encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return files;
}

function hfConfig(c: LlamaConfig): Record<string, unknown> {
  return { architectures: ['LlamaModel'], model_type: 'llama', ...c };
}

/** Reads one file of a run by its relative path (`run.json`, `llm/model.safetensors`, ...). */
export type RunFileReader = (path: string) => Promise<Uint8Array>;

/** Options of {@link loadRunFromFiles} and {@link loadRun}. */
export interface LoadRunOptions {
  /** For an adapter run: the base LLM (taken over by the model). */
  baseModel?: LlamaModel;
  /** Where the files come from (a directory or URL), prefixed to the file names in error messages. */
  source?: string;
}

/**
 * Rebuilds a model from the files of an exported run, read through `read` (e.g. `fetch` in a
 * browser). The model comes back in eval mode, scoring exactly as the exported one did (up to the
 * float32 rounding of a merged LoRA update).
 *
 * @throws MmesidError for a file that is not a run, ShapeError for tensors that do not fit
 * @example
 * const model = await loadRunFromFiles(async (p) => new Uint8Array(await (await fetch(`/run/${p}`)).arrayBuffer()));
 */
export async function loadRunFromFiles(read: RunFileReader, opts: LoadRunOptions = {}): Promise<MmeSidModel> {
  const dec = new TextDecoder();
  const at = (p: string) => (opts.source ? `${opts.source.replace(/\/+$/, '')}/${p}` : p);
  const manifest = parseManifest(dec.decode(await read(RUN_FILES.manifest)), at(RUN_FILES.manifest));
  // Everything allocated from here on is freed if loading fails part-way (a truncated or corrupt
  // file must not leave the half-built model's tensors behind).
  return freeOnThrow(async () => {
    let llm: LlamaModel;
    if (manifest.llm.kind === 'merged') {
      const cfgFile = at(`${RUN_FILES.llmDir}/config.json`);
      const cfg = parseLlamaConfig(
        parseJson(dec.decode(await read(`${RUN_FILES.llmDir}/config.json`)), cfgFile),
        cfgFile,
      );
      const bytes = await read(`${RUN_FILES.llmDir}/model.safetensors`);
      llm = new LlamaModel(cfg, { skipInit: true });
      const file = at(`${RUN_FILES.llmDir}/model.safetensors`);
      const weights = loadSafetensorsBytes(bytes, { file });
      try {
        llm.loadStateDict(Object.fromEntries(weights), { context: file });
      } finally {
        tf.dispose([...weights.values()]);
      }
    } else {
      if (!opts.baseModel)
        throw new MmesidError(
          'loadRunFromFiles: this run holds a LoRA adapter; pass { baseModel } (the base LLM)',
        );
      llm = opts.baseModel;
      loadAdapterFromFiles(
        llm,
        {
          config: dec.decode(await read(`${RUN_FILES.adapterDir}/adapter_config.json`)),
          weights: await read(`${RUN_FILES.adapterDir}/adapter_model.safetensors`),
        },
        { source: at(RUN_FILES.adapterDir) },
      );
    }
    let tensors: Map<string, tf.Tensor> | undefined;
    try {
      tensors = loadSafetensorsBytes(await read(RUN_FILES.fusion), { file: at(RUN_FILES.fusion) });
      return await assemble(manifest, llm, tensors, at(RUN_FILES.fusion));
    } finally {
      if (tensors) tf.dispose([...tensors.values()]);
    }
  });
}

/**
 * Runs `fn`; if it throws, disposes every variable it registered and every tensor it left live,
 * then rethrows. Tensors that existed before are never touched.
 */
async function freeOnThrow<T>(fn: () => Promise<T>): Promise<T> {
  const engine = tf.engine();
  const varsBefore = new Set(Object.keys(engine.state.registeredVariables));
  // A tfjs scope records every tensor made inside it (variables are registered separately). Other
  // async work interleaved with ours lands in it too; that only matters on failure, where freeing
  // a half-built model matters more (a loader is not run beside training).
  engine.startScope('freeOnThrow');
  let ok = false;
  try {
    const out = await fn();
    ok = true;
    return out;
  } finally {
    if (ok) {
      // Keep what was made (the model): end the scope without disposing anything in it.
      const kept = engine.state.activeScope?.track ?? [];
      engine.endScope(kept as tf.Tensor[]);
    } else {
      engine.endScope();
      for (const [name, v] of Object.entries(engine.state.registeredVariables))
        if (!varsBefore.has(name)) v.dispose();
    }
  }
}

/**
 * Loads a run written by {@link exportRun} from a directory (Node). For an adapter run the base
 * model is read from `llamaDir` (default: the `baseModel` recorded in `run.json`).
 *
 * @example
 * const model = await loadRun('runs/beauty/mme-sid');
 * const rec = await recommend(model, [3, 9, 27], 10);
 */
export async function loadRun(dir: string, opts: { llamaDir?: string } = {}): Promise<MmeSidModel> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const read: RunFileReader = async (p) => {
    try {
      return new Uint8Array(await readFile(join(dir, p)));
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new MmesidError(`${join(dir, p)}: cannot read (${code ?? (e as Error).message})`);
    }
  };
  const manifest = parseManifest(
    new TextDecoder().decode(await read(RUN_FILES.manifest)),
    join(dir, RUN_FILES.manifest),
  );
  if (manifest.llm.kind === 'merged') return loadRunFromFiles(read, { source: dir });
  const base = opts.llamaDir ?? manifest.llm.baseModel;
  if (!base)
    throw new MmesidError(
      `${join(dir, RUN_FILES.manifest)}: an adapter run without a recorded base model; pass { llamaDir }`,
    );
  const baseModel = await loadLlamaModel(base, { log: false });
  try {
    return await loadRunFromFiles(read, { baseModel, source: dir });
  } catch (e) {
    baseModel.dispose();
    throw e;
  }
}

function parseManifest(text: string, file: string): RunManifest {
  const m = parseJson(text, file) as RunManifest;
  if (m?.format !== 'mmesid-fusion-run' || m.version !== 1)
    throw new MmesidError(
      `${file}: format "${String(m?.format).slice(0, 80)}" version ${String(m?.version).slice(0, 20)}, expected "mmesid-fusion-run" version 1`,
    );
  try {
    return { ...m, fusion: parseFusionConfig(m.fusion) };
  } catch (e) {
    throw new MmesidError(`${file}: "fusion": ${(e as Error).message}`, { cause: e });
  }
}

function tensorData(t: tf.Tensor | undefined, key: string, shape: number[], file: string): tf.Tensor {
  if (!t) throw new ShapeError(`${file}: no tensor "${key}"`);
  if (t.shape.join() !== shape.join())
    throw new ShapeError(`${file} [${key}]: shape [${t.shape}], expected [${shape}]`);
  return t;
}

async function assemble(
  manifest: RunManifest,
  llm: LlamaModel,
  tensors: Map<string, tf.Tensor>,
  fusionFile: string,
): Promise<MmeSidModel> {
  const N = manifest.numItems;
  const tables: Record<string, ItemTable> = {};
  const semanticIds: Record<string, ModalitySemanticIds> = {};
  for (const [m, { cols }] of Object.entries(manifest.tables)) {
    const key = `item_tokenizer.tables.${m}.weight`;
    const t = tensorData(tensors.get(key), key, [N + 1, cols], fusionFile);
    tables[m] = { rows: N + 1, cols, data: (await t.data()) as Float32Array };
  }
  for (const [m, s] of Object.entries(manifest.semanticIds)) {
    const key = `item_tokenizer.sid.${m}.ids`;
    const t = tensorData(tensors.get(key), key, [N + 1, s.levels], fusionFile);
    const offsets = (await t.data()) as Int32Array;
    const ids = new Int32Array(offsets.length);
    for (let i = 0; i < ids.length; i++) ids[i] = offsets[i]! - (i % s.levels) * s.codebookSize;
    semanticIds[m] = { ids, levels: s.levels, codebookSize: s.codebookSize, dim: s.dim };
  }
  const feature = tensorData(tensors.get(FREQUENCY_KEY), FREQUENCY_KEY, [N + 1], fusionFile);
  const model = new MmeSidModel({
    config: manifest.fusion,
    llm,
    prompt: promptFromIds(
      manifest.prompt.prefix,
      manifest.prompt.suffix,
      manifest.prompt.text,
      manifest.prompt.style,
    ),
    numItems: N,
    tables,
    semanticIds,
    frequencyFeature: (await feature.data()) as Float32Array,
    lora: 'none',
    skipInit: true,
  });
  try {
    const own: Record<string, tf.Tensor> = {};
    for (const [k, v] of tensors) if (k !== FREQUENCY_KEY) own[k] = v;
    loadOwn(model, own, fusionFile);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return model;
}

/** Loads every non-LLM tensor of the model from `sd` (strict: every key present, nothing extra). */
function loadOwn(model: MmeSidModel, sd: Record<string, tf.Tensor>, file: string): void {
  for (const [prefix, sub] of [
    ['item_tokenizer.', model.tokens],
    ['head.', model.head],
  ] as [string, Module][]) {
    const part: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(sd)) if (k.startsWith(prefix)) part[k.slice(prefix.length)] = v;
    sub.loadStateDict(part, { context: `${file} (${prefix}*)` });
  }
  const unknown = Object.keys(sd).filter((k) => !k.startsWith('item_tokenizer.') && !k.startsWith('head.'));
  if (unknown.length) throw new ShapeError(`${file}: unexpected tensors ${unknown.join(', ')}`);
}
