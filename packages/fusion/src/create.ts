import { HfTokenizer, Llama2cTokenizer, type LlamaModel, loadLlamaModel } from '@mmesid/llama';
import { ConfigError, pathExists } from '@mmesid/tensor';
import { type FusionConfig, type FusionConfigInput, parseFusionConfig, tableModalities } from './config.js';
import {
  checkItemTables,
  frequencyFeature,
  type ItemTable,
  randomSemanticIds,
  type SemanticIdExportLike,
  type SemanticIds,
  semanticIdsFromExport,
} from './item-data.js';
import { MmeSidModel } from './model.js';
import { buildPrompt, type PromptStyle, type PromptTemplate } from './prompt.js';
import { type VariantName, variantConfig } from './variants.js';

/** Options of {@link createMmeSid}. */
export interface CreateMmeSidOptions {
  /** A named variant (see `VARIANTS`); default `'MME-SID'`. */
  variant?: VariantName;
  /** The variant's chosen reading (default) or its `alternative` (see `VARIANTS`). */
  reading?: 'chosen' | 'alternative';
  /** Fields applied over the variant (a seed, `itemsAtEnd`, the fusion temperature, ...). */
  config?: FusionConfigInput;
  /** The largest item id N (`dataset.numItems`). */
  numItems: number;
  /** Original item embeddings per modality, N + 1 rows each (`collaborative` = SASRec's table, `text`, `visual`). */
  tables: Readonly<Record<string, ItemTable>>;
  /** Semantic IDs: `@mmesid/rqvae`'s `loadExport(dir)` result as is, or already re-indexed ones. */
  semanticIds?: SemanticIdExportLike | SemanticIds;
  /** Training frequency of items 0..N (`itemFrequency(split.train, N)` from @mmesid/datasets). */
  frequency: ArrayLike<number>;
  /** A Hugging Face Llama directory (loaded with `loadLlamaModel`) or a loaded `LlamaModel` (taken over). */
  llama: string | LlamaModel;
  /** The tokenizer of the prompt; default: read from the llama directory (`tokenizer.json` or llama2.c's). */
  tokenizer?: Llama2cTokenizer | HfTokenizer;
  /** Prompt rendering; default `'authors-template'` for HF tokenizers, `'plain'` for llama2.c's. */
  promptStyle?: PromptStyle;
  /** A ready prompt instead (its suffix must be empty with `itemsAtEnd`). */
  prompt?: PromptTemplate;
  /** Loader messages (default: none). */
  log?: (line: string) => void;
}

function isExport(x: SemanticIdExportLike | SemanticIds): x is SemanticIdExportLike {
  return (
    typeof (x as SemanticIdExportLike).config === 'object' &&
    typeof (x as SemanticIdExportLike).modalities === 'object'
  );
}

/**
 * Reads the tokenizer that sits beside a Llama checkpoint: `tokenizer.json` (Hugging Face, e.g.
 * Llama 3), else llama2.c's `tokenizer.llama2c.json`, `tok512.bin`, `tokenizer.bin` or a single
 * `tok<N>.bin` (babyllama128's `tok105.bin`). Node only.
 *
 * @throws ConfigError when none is there
 */
export async function loadTokenizerFor(dir: string): Promise<Llama2cTokenizer | HfTokenizer> {
  const { join } = await import('node:path');
  if (await pathExists(join(dir, 'tokenizer.json'))) {
    const { readFile } = await import('node:fs/promises');
    const tj = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as { format?: string };
    if (tj.format !== 'llama2c-tokenizer') return HfTokenizer.fromDir(dir);
    return Llama2cTokenizer.fromJson(tj, join(dir, 'tokenizer.json'));
  }
  for (const name of ['tokenizer.llama2c.json', 'tok512.bin', 'tokenizer.bin'])
    if (await pathExists(join(dir, name))) return Llama2cTokenizer.load(join(dir, name));
  // llama2.c's custom vocabularies are tok<N>.bin (babyllama128 ships tok105.bin).
  const { readdir } = await import('node:fs/promises');
  const custom = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => /^tok\d+\.bin$/.test(n))
    .sort();
  if (custom.length > 1)
    throw new ConfigError(`${dir}: ${custom.length} tokenizers (${custom.join(', ')}); pass { tokenizer }`);
  if (custom.length === 1) return Llama2cTokenizer.load(join(dir, custom[0]!));
  throw new ConfigError(
    `${dir}: no tokenizer found (looked for tokenizer.json, tokenizer.llama2c.json, tok512.bin, tokenizer.bin, tok<N>.bin); pass { tokenizer }`,
  );
}

/** The semantic IDs a config needs: re-indexed from the export, or drawn at random (seeded). */
export function resolveSemanticIds(
  config: FusionConfig,
  numItems: number,
  hidden: number,
  given?: SemanticIdExportLike | SemanticIds,
): SemanticIds | undefined {
  if (!config.itemToken.sid) return undefined;
  const fromExport = given ? (isExport(given) ? semanticIdsFromExport(given, numItems) : given) : undefined;
  if (config.sid.source === 'random') {
    const out: Record<string, ReturnType<typeof randomSemanticIds>[string]> = {};
    for (const m of config.modalities) {
      const e = fromExport?.[m];
      // Keep the export's L, K and width (and codebooks, for the random-init scale) when there is one.
      const r = randomSemanticIds([m], numItems, {
        levels: e?.levels ?? config.sid.levels,
        codebookSize: e?.codebookSize ?? config.sid.codebookSize,
        dim: e?.dim ?? config.sid.dim ?? hidden,
        seed: config.seed,
      })[m]!;
      out[m] = e?.codebooks ? { ...r, codebooks: e.codebooks } : r;
    }
    return out;
  }
  if (!fromExport)
    throw new ConfigError(
      'this variant uses semantic IDs from the MM-RQ-VAE: pass semanticIds (loadExport(dir) of @mmesid/rqvae)',
    );
  for (const m of config.modalities)
    if (!fromExport[m])
      throw new ConfigError(
        `semantic IDs: the export has no modality "${m}" (it has ${Object.keys(fromExport).join(', ')})`,
      );
  return fromExport;
}

/**
 * Builds an MME-SID model (or a baseline variant) from a dataset's item tables, an MM-RQ-VAE export
 * and a Llama checkpoint: loads the LLM, adds LoRA (r 8, alpha 16, dropout 0.05 on gate/up/down),
 * freezes it, builds the prompt from the checkpoint's tokenizer, the item-token builder and the
 * scoring head. Checks every input before loading anything large.
 *
 * @throws ConfigError / ShapeError naming the missing or mis-shaped input
 * @example
 * const split = leaveOneOut(dataset);
 * const model = await createMmeSid({
 *   variant: 'MME-SID',
 *   numItems: dataset.numItems,
 *   tables: { collaborative: sasrec, text, visual },
 *   semanticIds: await loadExport('runs/beauty/rqvae'),
 *   frequency: itemFrequency(split.train, dataset.numItems),
 *   llama: '../shared/models/stories260k',
 * });
 */
export async function createMmeSid(opts: CreateMmeSidOptions): Promise<MmeSidModel> {
  const variant = opts.variant ?? 'MME-SID';
  const config = variantConfig(variant, opts.config ?? {}, Object.keys(opts.tables), {
    ...(opts.reading ? { reading: opts.reading } : {}),
  });
  return createFromConfig({ ...opts, config });
}

/** {@link createMmeSid} with an explicit, already validated config (no variant). */
export async function createFromConfig(
  opts: Omit<CreateMmeSidOptions, 'variant' | 'reading' | 'config'> & { config: FusionConfigInput },
): Promise<MmeSidModel> {
  const config = parseFusionConfig(opts.config);
  const N = opts.numItems;
  if (!Number.isInteger(N) || N < 2)
    throw new ConfigError(`createMmeSid: numItems must be an integer >= 2, got ${N}`);
  checkItemTables(opts.tables, tableModalities(config), N);
  const feature = frequencyFeature(opts.frequency, N);
  let prompt = opts.prompt;
  if (!prompt) {
    const tokenizer =
      opts.tokenizer ?? (typeof opts.llama === 'string' ? await loadTokenizerFor(opts.llama) : undefined);
    if (!tokenizer)
      throw new ConfigError('createMmeSid: pass { tokenizer } or { prompt } when llama is a loaded model');
    prompt = buildPrompt(tokenizer, {
      ...(opts.promptStyle ? { style: opts.promptStyle } : {}),
      itemsAtEnd: config.itemsAtEnd,
    });
  }
  const llm =
    typeof opts.llama === 'string'
      ? await loadLlamaModel(opts.llama, { log: opts.log ?? false })
      : opts.llama;
  try {
    const semanticIds = resolveSemanticIds(config, N, llm.config.hidden_size, opts.semanticIds);
    for (const id of [...prompt.prefix, ...prompt.suffix])
      if (id >= llm.config.vocab_size)
        throw new ConfigError(
          `createMmeSid: the tokenizer produced id ${id} but the model's vocabulary has ${llm.config.vocab_size} entries`,
        );
    return new MmeSidModel({
      config,
      llm,
      prompt,
      numItems: N,
      tables: opts.tables,
      ...(semanticIds ? { semanticIds } : {}),
      frequencyFeature: feature,
    });
  } catch (e) {
    if (typeof opts.llama === 'string') llm.dispose();
    throw e;
  }
}
