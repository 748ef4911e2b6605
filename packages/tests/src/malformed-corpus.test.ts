/**
 * The malformed-input corpus: every file format the project reads, each valid file turned into
 * malformed ones by the rules of `corpus/rules.ts` (truncation at boundaries, flipped bytes,
 * duplicates, reorders, out-of-range numbers, wrong types, huge sizes, deep nesting, missing files).
 * Every case must fail with a typed error (MmesidError or DatasetError and their subclasses) whose
 * message names the file, must not write anything next to the input, and must leave no tensor
 * allocated. `CORPUS_SUMMARY=<file>` writes the count per format as JSON.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  DatasetError,
  generateSynthetic,
  itemFrequency,
  leaveOneOut,
  loadAuthorsDataset,
  loadEmbedding,
  readAmazon2014Meta,
  readAmazon2014Reviews,
  saveAuthorsDataset,
  saveEmbedding,
} from '@mmesid/datasets';
import { createFromConfig, exportRun, loadRun, promptFromIds } from '@mmesid/fusion';
import { HfTokenizer, Llama2cTokenizer, LlamaModel, readLlamaConfig } from '@mmesid/llama';
import { readEmbeddingTable, writeEmbeddingTable } from '@mmesid/llm2clip';
import { applyLora, loadAdapter, saveAdapter } from '@mmesid/lora';
import { exportSemanticIds, loadExport } from '@mmesid/rqvae';
import { loadSasrec, SASRec, sasrecConfig, saveSasrec, trainSasrec } from '@mmesid/sasrec';
import {
  initBackend,
  loadSafetensors,
  MmesidError,
  openCheckpoint,
  Rng,
  saveSafetensors,
  saveShardedSafetensors,
  tf,
} from '@mmesid/tensor';
import { sharedDir } from '@mmesid/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  directoryInstead,
  editSafetensorsHeader,
  flipSafetensorsHeader,
  flipText,
  jsonEdits,
  lineEdits,
  type Mutation,
  type Rule,
  replaceFile,
  truncate,
  truncateSafetensors,
} from './corpus/rules.js';
import { tinyLlamaConfig, tinyLlamaConfigJson, tinyMmRqvae } from './tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'mmesid-corpus-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (process.env.CORPUS_SUMMARY) writeFileSync(process.env.CORPUS_SUMMARY, JSON.stringify(summary, null, 2));
});
beforeAll(async () => {
  await initBackend({ require: 'cpu', log: false });
});

const summary: Record<string, { cases: number; typed: number; namesFile: number; clean: number }> = {};

interface Format {
  name: string;
  /** Writes the valid files into `dir`. */
  make(dir: string): Promise<void>;
  /** The files to corrupt (relative to the folder) and the rules for each. */
  files: { path: string; rules: Rule[] }[];
  /** Reads the folder as a user would; returns what to dispose. */
  load(dir: string): Promise<{ dispose(): void } | undefined>;
  skip?: string;
}

const SAFE_RULES = [truncateSafetensors, flipSafetensorsHeader, editSafetensorsHeader, replaceFile];
const disposeMap = (m: Map<string, tf.Tensor>) => ({ dispose: () => tf.dispose([...m.values()]) });

function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      out.push(`${p} ${s.size} ${s.mtimeMs}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

const stories = sharedDir('models', 'stories260k');
/** A real HF tokenizer.json (stories260K's BPE converted as transformers converts Llama 2's; see its script). */
const tinyTokenizer = new URL('../../llama/fixtures/tiny-tokenizer/', import.meta.url);

const FORMATS: Format[] = [
  {
    name: 'safetensors file',
    async make(dir) {
      await saveSafetensors(
        join(dir, 'model.safetensors'),
        {
          'a.weight': { data: new Float32Array(6).map((_, i) => i), shape: [2, 3] },
          'b.bias': { data: new Float32Array(4).fill(0.5), shape: [4] },
        },
        { metadata: { format: 'pt' } },
      );
    },
    files: [{ path: 'model.safetensors', rules: SAFE_RULES }],
    load: async (dir) => disposeMap(await loadSafetensors(join(dir, 'model.safetensors'))),
  },
  {
    name: 'sharded safetensors + index',
    async make(dir) {
      const t = (v: number) => ({ data: new Float32Array(64).fill(v), shape: [8, 8] });
      await saveShardedSafetensors(dir, { a: t(1), b: t(2), c: t(3) }, { maxShardBytes: 300 });
    },
    files: [
      {
        path: 'model.safetensors.index.json',
        rules: [
          jsonEdits([
            [
              'weight_map is empty',
              (o) => {
                o.weight_map = {};
              },
            ],
            [
              'weight_map lists a shard outside the folder',
              (o) => {
                (o.weight_map as Record<string, string>).a = '../x.safetensors';
              },
            ],
            [
              'weight_map names a missing shard',
              (o) => {
                (o.weight_map as Record<string, string>).a = 'model-00009-of-00009.safetensors';
              },
            ],
            [
              'weight_map value is a number',
              (o) => {
                (o.weight_map as Record<string, unknown>).a = 3;
              },
            ],
            [
              'a shard left out of weight_map',
              (o) => {
                o.weight_map = Object.fromEntries(Object.entries(o.weight_map as object).slice(0, 2));
              },
            ],
            [
              'weight_map missing',
              (o) => {
                delete o.weight_map;
              },
            ],
            [
              'a tensor mapped to the wrong shard',
              (o) => {
                const w = o.weight_map as Record<string, string>;
                [w.a, w.b] = [w.b!, w.a!];
                return o;
              },
            ],
          ]),
          truncate,
          replaceFile,
        ],
      },
      { path: 'model-00002-of-00003.safetensors', rules: SAFE_RULES },
    ],
    async load(dir) {
      const ck = await openCheckpoint(dir);
      const out = new Map<string, tf.Tensor>();
      try {
        for (const k of ck.keys()) out.set(k, await ck.readTensor(k));
      } catch (e) {
        tf.dispose([...out.values()]);
        throw e;
      } finally {
        await ck.close();
      }
      return disposeMap(out);
    },
  },
  {
    name: 'PEFT adapter folder',
    async make(dir) {
      const m = new LlamaModel(tinyLlamaConfig(), { rng: new Rng('corpus-llama') });
      const lora = applyLora(m, { r: 2, alpha: 4, targetModules: ['gate_proj', 'up_proj'] });
      await saveAdapter(lora, dir);
      m.dispose();
    },
    files: [
      {
        path: 'adapter_config.json',
        rules: [
          jsonEdits([
            [
              'r is negative',
              (o) => {
                o.r = -2;
              },
            ],
            [
              'r is a string',
              (o) => {
                o.r = '2';
              },
            ],
            [
              'lora_alpha is a string',
              (o) => {
                o.lora_alpha = '4';
              },
            ],
            [
              'target_modules names nothing in the model',
              (o) => {
                o.target_modules = ['no_such_proj'];
              },
            ],
            [
              'target_modules is a number',
              (o) => {
                o.target_modules = 7;
              },
            ],
            [
              'lora_dropout is 2',
              (o) => {
                o.lora_dropout = 2;
              },
            ],
            [
              'peft_type is IA3',
              (o) => {
                o.peft_type = 'IA3';
              },
            ],
          ]),
          truncate,
          replaceFile,
        ],
      },
      { path: 'adapter_model.safetensors', rules: SAFE_RULES },
    ],
    async load(dir) {
      const m = new LlamaModel(tinyLlamaConfig(), { rng: new Rng('corpus-llama-2') });
      try {
        await loadAdapter(m, dir);
      } catch (e) {
        m.dispose();
        throw e;
      }
      return m;
    },
  },
  {
    name: 'exported run (fusion)',
    async make(dir) {
      const ds = generateSynthetic({
        seed: 3,
        numUsers: 20,
        numItems: 12,
        numClusters: 3,
        visualDim: 4,
        minSequenceLength: 3,
        maxSequenceLength: 8,
        meanSequenceLength: 5,
      });
      const N = ds.numItems;
      const rng = new Rng('corpus-run');
      const tables = {
        collaborative: { rows: N + 1, cols: 6, data: rng.fillNormal(new Float32Array((N + 1) * 6)) },
      };
      const ids = new Int32Array((N + 1) * 2);
      for (let i = 2; i < ids.length; i++) ids[i] = rng.int(4);
      const semanticIds = {
        collaborative: {
          ids,
          levels: 2,
          codebookSize: 4,
          dim: 8,
          codebooks: rng.fillNormal(new Float32Array(2 * 4 * 8)),
        },
      };
      const model = await createFromConfig({
        config: { seed: 1, modalities: ['collaborative'] },
        numItems: N,
        tables,
        semanticIds,
        frequency: itemFrequency(leaveOneOut(ds).train, N),
        llama: new LlamaModel(tinyLlamaConfig(), { rng: new Rng('corpus-run-llama') }),
        prompt: promptFromIds([1, 3], [4]),
      });
      await exportRun(model, join(dir, 'run'));
      model.dispose();
    },
    files: [
      {
        path: 'run/run.json',
        rules: [
          jsonEdits([
            [
              'format renamed',
              (o) => {
                o.format = 'other';
              },
            ],
            [
              'version 2',
              (o) => {
                o.version = 2;
              },
            ],
            [
              'numItems is 3 (tables have more rows)',
              (o) => {
                o.numItems = 3;
              },
            ],
            [
              'fusion config has a wrong type',
              (o) => {
                (o.fusion as Record<string, unknown>).seed = 'x';
              },
            ],
          ]),
          truncate,
          replaceFile,
        ],
      },
      { path: 'run/fusion.safetensors', rules: SAFE_RULES },
      {
        path: 'run/llm/config.json',
        rules: [
          jsonEdits([
            [
              'hidden_size is a string',
              (o) => {
                o.hidden_size = '16';
              },
            ],
            [
              'hidden_size is 0',
              (o) => {
                o.hidden_size = 0;
              },
            ],
            [
              'hidden_size does not fit the weights',
              (o) => {
                o.hidden_size = 32;
              },
            ],
            [
              'num_attention_heads does not divide hidden_size',
              (o) => {
                o.num_attention_heads = 3;
              },
            ],
          ]),
          truncate,
        ],
      },
      { path: 'run/llm/model.safetensors', rules: [truncateSafetensors, editSafetensorsHeader] },
    ],
    async load(dir) {
      return loadRun(join(dir, 'run'));
    },
  },
  {
    name: 'Llama config.json',
    async make(dir) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyLlamaConfigJson()));
    },
    files: [
      {
        path: 'config.json',
        rules: [
          jsonEdits([
            [
              'vocab_size negative',
              (o) => {
                o.vocab_size = -1;
              },
            ],
            [
              'num_key_value_heads does not divide heads',
              (o) => {
                o.num_key_value_heads = 3;
              },
            ],
            [
              'rms_norm_eps is a string',
              (o) => {
                o.rms_norm_eps = '1e-5';
              },
            ],
            [
              'hidden_size missing',
              (o) => {
                delete o.hidden_size;
              },
            ],
            [
              'rope_scaling of an unknown type',
              (o) => {
                o.rope_scaling = { rope_type: 'nope' };
              },
            ],
            [
              'num_hidden_layers is 2.5',
              (o) => {
                o.num_hidden_layers = 2.5;
              },
            ],
          ]),
          truncate,
          replaceFile,
        ],
      },
    ],
    load: async (dir) => {
      await readLlamaConfig(dir);
      return undefined;
    },
  },
  {
    name: 'llama2.c tokenizer (tok512.bin)',
    skip: stories.path ? undefined : stories.reason,
    async make(dir) {
      cpSync(join(stories.path!, 'tok512.bin'), join(dir, 'tok512.bin'));
    },
    files: [{ path: 'tok512.bin', rules: [truncate, replaceFile] }],
    load: async (dir) => {
      await Llama2cTokenizer.load(join(dir, 'tok512.bin'), 512);
      return undefined;
    },
  },
  {
    name: 'HF tokenizer (tokenizer.json + tokenizer_config.json)',
    async make(dir) {
      for (const f of ['tokenizer.json', 'tokenizer_config.json'])
        cpSync(new URL(f, tinyTokenizer), join(dir, f));
    },
    files: [
      {
        path: 'tokenizer.json',
        rules: [
          jsonEdits([
            [
              'model.vocab is a string',
              (o) => {
                (o.model as Record<string, unknown>).vocab = 'a b c';
              },
            ],
            [
              'model.vocab is an array',
              (o) => {
                (o.model as Record<string, unknown>).vocab = [['a', 0]];
              },
            ],
            [
              'model.type unknown',
              (o) => {
                (o.model as Record<string, unknown>).type = 'WordSoup';
              },
            ],
            [
              'model.type missing',
              (o) => {
                delete (o.model as Record<string, unknown>).type;
              },
            ],
            [
              'model missing',
              (o) => {
                delete o.model;
              },
            ],
            [
              'a vocab id is negative',
              (o) => {
                vocabOf(o)['\u2581t'] = -5;
              },
            ],
            [
              'a vocab id is 2.5',
              (o) => {
                vocabOf(o)['\u2581t'] = 2.5;
              },
            ],
            [
              'a vocab id is a string',
              (o) => {
                vocabOf(o)['\u2581t'] = '259';
              },
            ],
            [
              'two tokens share an id',
              (o) => {
                vocabOf(o)['\u2581t'] = 260;
              },
            ],
            [
              'a merge names a token not in the vocab',
              (o) => {
                mergesOf(o)[0] = 'q\u00e9 zz';
              },
            ],
            [
              'a merge whose join is not in the vocab',
              (o) => {
                mergesOf(o)[0] = 'a ~';
              },
            ],
            [
              'a merge of three tokens',
              (o) => {
                mergesOf(o)[0] = 'a b c';
              },
            ],
            [
              'a merge is a number',
              (o) => {
                mergesOf(o)[0] = 7;
              },
            ],
            [
              'merges is an object',
              (o) => {
                (o.model as Record<string, unknown>).merges = {};
              },
            ],
            [
              'unk_token not in the vocab',
              (o) => {
                (o.model as Record<string, unknown>).unk_token = '<nope>';
              },
            ],
            [
              'byte_fallback is "yes"',
              (o) => {
                (o.model as Record<string, unknown>).byte_fallback = 'yes';
              },
            ],
            [
              'an added token without an id',
              (o) => {
                delete addedOf(o)[1]!.id;
              },
            ],
            [
              'an added token id is a string',
              (o) => {
                addedOf(o)[1]!.id = '1';
              },
            ],
            [
              'an added token id taken by a vocab token',
              (o) => {
                addedOf(o)[2]!.id = 300;
              },
            ],
            [
              'an added token with empty content',
              (o) => {
                addedOf(o)[0]!.content = '';
              },
            ],
            [
              'added_tokens is an object',
              (o) => {
                o.added_tokens = {};
              },
            ],
            [
              'normalizer of an unknown type',
              (o) => {
                o.normalizer = { type: 'Shout' };
              },
            ],
            [
              'a decoder Sequence child of an unknown type',
              (o) => {
                (o.decoder as { decoders: unknown[] }).decoders[1] = { type: 'Nope' };
              },
            ],
            [
              'pre_tokenizer is a string',
              (o) => {
                o.pre_tokenizer = 'ByteLevel';
              },
            ],
            [
              'post_processor without a type',
              (o) => {
                delete (o.post_processor as Record<string, unknown>).type;
              },
            ],
            [
              'version is a number',
              (o) => {
                o.version = 1;
              },
            ],
            [
              'duplicate key inside model.vocab',
              (o) => JSON.stringify(o).replace('"vocab":{', '"vocab":{"\u2581t":1,'),
            ],
          ]),
          truncate,
          replaceFile,
        ],
      },
      {
        path: 'tokenizer_config.json',
        rules: [
          jsonEdits(
            [
              [
                'chat_template does not parse',
                (o) => {
                  o.chat_template = '{% for m in messages %}{{ m.content }';
                },
              ],
              [
                'chat_template is a number',
                (o) => {
                  o.chat_template = 3;
                },
              ],
              [
                'a named chat_template without its template',
                (o) => {
                  o.chat_template = [{ name: 'default' }];
                },
              ],
              [
                'bos_token is a number',
                (o) => {
                  o.bos_token = 1;
                },
              ],
              [
                'bos_token object without content',
                (o) => {
                  o.bos_token = { lstrip: false };
                },
              ],
              [
                'add_bos_token is "yes"',
                (o) => {
                  o.add_bos_token = 'yes';
                },
              ],
              [
                'model_max_length is negative',
                (o) => {
                  o.model_max_length = -1;
                },
              ],
              [
                'added_tokens_decoder key is not an id',
                (o) => {
                  o.added_tokens_decoder = { x: { content: 'a' } };
                },
              ],
            ],
            // Configs carry arbitrary keys: a deeply nested unknown one is valid.
            { openKeys: true },
          ),
          truncate,
          // tokenizer_config.json is optional: only the directory case.
          directoryInstead,
        ],
      },
    ],
    load: async (dir) => {
      await HfTokenizer.fromDir(dir);
      return undefined;
    },
  },
  {
    name: "authors' dataset (sequences.txt, items.csv)",
    async make(dir) {
      const ds = generateSynthetic({
        seed: 5,
        numUsers: 12,
        numItems: 10,
        numClusters: 2,
        minSequenceLength: 3,
        maxSequenceLength: 8,
        meanSequenceLength: 5,
      });
      await saveAuthorsDataset(dir, ds);
    },
    files: [
      {
        path: 'sequences.txt',
        rules: [
          lineEdits([
            ['a user line repeated', (l) => [l[0]!, ...l]],
            ['item id 0 (padding)', (l) => [`${l[0]!} 0`, ...l.slice(1)]],
            ['item id beyond the table', (l) => [`${l[0]!} 999`, ...l.slice(1)]],
            ['negative item id', (l) => [`${l[0]!} -3`, ...l.slice(1)]],
            ['id 2^31', (l) => [`${l[0]!} 2147483648`, ...l.slice(1)]],
            ['a float id', (l) => [`${l[0]!} 1.5`, ...l.slice(1)]],
            ['an empty line in the middle', (l) => [l[0]!, '', ...l.slice(1)]],
            ['a user with no items', (l) => ['77', ...l]],
            ['a 1 MB token', (l) => [`${l[0]!} ${'9x'.repeat(500_000)}`, ...l.slice(1)]],
            ['empty file', () => ''],
            ['fields separated by commas', (l) => l.map((x) => x.replace(/ /g, ','))],
          ]),
          replaceFile,
        ],
      },
      {
        path: 'items.csv',
        rules: [
          lineEdits([
            ['an item row repeated', (l) => [l[0]!, l[1]!, ...l.slice(1)]],
            ['a gap in the ids', (l) => [l[0]!, ...l.slice(2)]],
            ['duplicate header column', (l) => [`${l[0]!},id`, ...l.slice(1).map((r) => (r ? `${r},1` : r))]],
            ['the id column missing', (l) => l.map((r) => r.split(',').slice(0, 3).join(','))],
            ['a row with an extra field', (l) => [l[0]!, `${l[1]!},x`, ...l.slice(2)]],
            ['an unterminated quote', (l) => [l[0]!, `"${l[1]!}`, ...l.slice(2)]],
            ['id is not a number', (l) => [l[0]!, l[1]!.replace(/,(\d+)$/, ',one'), ...l.slice(2)]],
            ['header only', (l) => [l[0]!, '']],
          ]),
          truncate,
          // items.csv may be absent (a dataset without metadata), so only the directory case.
          directoryInstead,
        ],
      },
    ],
    load: async (dir) => {
      await loadAuthorsDataset(dir);
      return undefined;
    },
  },
  {
    name: 'Amazon 2014 reviews (JSON lines)',
    async make(dir) {
      const lines = [1, 2, 3].map((i) =>
        JSON.stringify({ reviewerID: `U${i}`, asin: `A${i}`, unixReviewTime: 1e9 + i, overall: 5 }),
      );
      writeFileSync(join(dir, 'reviews.json'), `${lines.join('\n')}\n`);
    },
    files: [
      {
        path: 'reviews.json',
        rules: [
          lineEdits([
            [
              'unixReviewTime is a string',
              (l) => [l[0]!.replace(/"unixReviewTime":(\d+)/, '"unixReviewTime":"$1"'), ...l.slice(1)],
            ],
            [
              'unixReviewTime is a float',
              (l) => [l[0]!.replace(/"unixReviewTime":(\d+)/, '"unixReviewTime":$1.5'), ...l.slice(1)],
            ],
            ['reviewerID missing', (l) => [l[0]!.replace(/"reviewerID":"[^"]*",/, ''), ...l.slice(1)]],
            ['asin empty', (l) => [l[0]!.replace(/"asin":"[^"]*"/, '"asin":""'), ...l.slice(1)]],
            ['a line is an array', (l) => ['[1,2]', ...l.slice(1)]],
            ['an empty line in the middle', (l) => [l[0]!, '', ...l.slice(1)]],
            ['a Python dict instead of JSON', (l) => [l[0]!.replace(/"/g, "'"), ...l.slice(1)]],
            ['deep nesting', (l) => [`{"x":${'['.repeat(5000)}${']'.repeat(5000)}}`, ...l.slice(1)]],
            ['a 1 MB bad line', (l) => [`{${'x'.repeat(1_000_000)}`, ...l.slice(1)]],
          ]),
          flipText('{:'),
        ],
      },
    ],
    load: async (dir) => {
      await readAmazon2014Reviews(join(dir, 'reviews.json'));
      return undefined;
    },
  },
  {
    name: 'Amazon 2014 metadata (Python literals)',
    async make(dir) {
      const lines = [1, 2, 3].map(
        (i) =>
          `{'asin': 'A${i}', 'title': 'Item ${i}', 'imUrl': 'http://x/${i}.jpg', 'categories': [['Beauty']], 'price': 3.5}`,
      );
      writeFileSync(join(dir, 'meta.json'), `${lines.join('\n')}\n`);
    },
    files: [
      {
        path: 'meta.json',
        rules: [
          lineEdits([
            [
              'nested 5,000 deep',
              (l) => [`{'asin': 'Z', 'x': ${'['.repeat(5000)}${']'.repeat(5000)}}`, ...l.slice(1)],
            ],
            ['a set literal', (l) => [`{'asin': 'Z', 'x': {1, 2}}`, ...l.slice(1)]],
            ['asin missing', (l) => [`{'title': 'x'}`, ...l.slice(1)]],
            ['title is a number', (l) => [`{'asin': 'Z', 'title': 3}`, ...l.slice(1)]],
            [
              'same asin with another title',
              (l) => [...l.slice(0, 1), l[0]!.replace('Item 1', 'Other'), ...l.slice(1)],
            ],
            ['an unterminated string', (l) => [`{'asin': 'Z`, ...l.slice(1)]],
            ['a call expression', (l) => [`{'asin': __import__('os')}`, ...l.slice(1)]],
            ['an empty line', (l) => [l[0]!, '', ...l.slice(1)]],
            ['a 1 MB bad line', (l) => [`{'asin': ${'x'.repeat(1_000_000)}}`, ...l.slice(1)]],
            ['a list instead of a dict', (l) => [`['asin', 'Z']`, ...l.slice(1)]],
          ]),
          flipText("{':"),
        ],
      },
    ],
    load: async (dir) => {
      await readAmazon2014Meta(join(dir, 'meta.json'));
      return undefined;
    },
  },
  {
    name: 'SASRec model folder (config.json + model.safetensors)',
    async make(dir) {
      const model = new SASRec(
        sasrecConfig({ numItems: 9, hiddenUnits: 8, numBlocks: 1, numHeads: 1, maxLen: 6, dropout: 0 }),
        { seed: 7 },
      );
      try {
        await saveSasrec(dir, model);
      } finally {
        model.dispose();
      }
    },
    files: [
      { path: 'model.safetensors', rules: SAFE_RULES },
      {
        path: 'config.json',
        rules: [
          jsonEdits([
            [
              'hiddenUnits is a string',
              (o) => {
                o.hiddenUnits = '8';
              },
            ],
            [
              'hiddenUnits does not match the weights',
              (o) => {
                o.hiddenUnits = 16;
              },
            ],
            [
              'numItems smaller than the table',
              (o) => {
                o.numItems = 5;
              },
            ],
            [
              'numBlocks larger than the weights',
              (o) => {
                o.numBlocks = 2;
              },
            ],
            [
              'maxLen is negative',
              (o) => {
                o.maxLen = -1;
              },
            ],
          ]),
          truncate,
          replaceFile,
          directoryInstead,
        ],
      },
    ],
    load: async (dir) => await loadSasrec(dir),
  },
  {
    // The one training-checkpoint layout of @mmesid/tensor (`<dir>/checkpoint/`), read back the way a
    // user resumes: SASRec training called again with the same settings.
    name: 'training checkpoint (checkpoint/trainer_state.json + tensors, SASRec resume)',
    async make(dir) {
      (await trainSasrec(sasrecResume(dir))).model.dispose();
    },
    files: [
      {
        path: 'checkpoint/trainer_state.json',
        rules: [
          jsonEdits([
            [
              'format renamed',
              (o) => {
                o.format = 'mmesid-rqvae-training';
              },
            ],
            [
              'version 2',
              (o) => {
                o.version = 2;
              },
            ],
            [
              'optimizerStep is negative',
              (o) => {
                o.optimizerStep = -1;
              },
            ],
            [
              'optimizerStep is 2.5',
              (o) => {
                o.optimizerStep = 2.5;
              },
            ],
            [
              'optimizerStep is a string',
              (o) => {
                o.optimizerStep = '4';
              },
            ],
            [
              'state missing',
              (o) => {
                delete o.state;
              },
            ],
            [
              'state is null',
              (o) => {
                o.state = null;
              },
            ],
            [
              'state is an array',
              (o) => {
                o.state = [];
              },
            ],
            [
              'state.model missing',
              (o) => {
                delete stateOf(o).model;
              },
            ],
            [
              'state.model has another width',
              (o) => {
                (stateOf(o).model as Record<string, unknown>).hiddenUnits = 32;
              },
            ],
            [
              'state.train has another seed',
              (o) => {
                (stateOf(o).train as Record<string, unknown>).seed = 9;
              },
            ],
            [
              'state.epochsDone is a string',
              (o) => {
                stateOf(o).epochsDone = '2';
              },
            ],
            [
              'state.epochsDone is negative',
              (o) => {
                stateOf(o).epochsDone = -1;
              },
            ],
            [
              'state.history is an object',
              (o) => {
                stateOf(o).history = {};
              },
            ],
            [
              'state.history lost a record',
              (o) => {
                (stateOf(o).history as unknown[]).pop();
              },
            ],
            [
              'state.best is a string',
              (o) => {
                stateOf(o).best = 'epoch 2';
              },
            ],
            [
              'state.badEvals is 1.5',
              (o) => {
                stateOf(o).badEvals = 1.5;
              },
            ],
          ]),
          truncate,
          replaceFile,
        ],
      },
      { path: 'checkpoint/model.safetensors', rules: SAFE_RULES },
      { path: 'checkpoint/optimizer.safetensors', rules: SAFE_RULES },
      {
        path: 'checkpoint/best.safetensors',
        rules: [truncateSafetensors, editSafetensorsHeader, directoryInstead],
      },
    ],
    load: async (dir) => (await trainSasrec(sasrecResume(dir))).model,
  },
  {
    name: 'semantic-ID export (rqvae)',
    async make(dir) {
      const rng = new Rng('corpus-sids');
      const n = 12;
      const inputs = {
        collaborative: { rows: n, cols: 5, data: rng.fillNormal(new Float32Array(n * 5)) },
        text: { rows: n, cols: 3, data: rng.fillNormal(new Float32Array(n * 3)) },
      };
      const rq = tinyMmRqvae(5, 3);
      try {
        await rq.initCodebooks(inputs);
        await exportSemanticIds(rq, inputs, dir, { firstItemId: 1 });
      } finally {
        rq.dispose();
      }
    },
    files: [
      { path: 'semantic_ids.safetensors', rules: SAFE_RULES },
      {
        path: 'config.json',
        rules: [
          jsonEdits([
            [
              'rows is a string',
              (o) => {
                o.rows = '12';
              },
            ],
            [
              'rows larger than the tensors',
              (o) => {
                o.rows = 13;
              },
            ],
            [
              'levels is 0',
              (o) => {
                o.levels = 0;
              },
            ],
            [
              'codebookSize does not match the codebooks',
              (o) => {
                o.codebookSize = 5;
              },
            ],
            [
              'modalities missing',
              (o) => {
                delete o.modalities;
              },
            ],
            [
              'a modality the tensors lack',
              (o) => {
                (o.modalities as { name: string }[])[0]!.name = 'visual';
              },
            ],
          ]),
          truncate,
          replaceFile,
          directoryInstead,
        ],
      },
    ],
    load: async (dir) => {
      await loadExport(dir);
      return undefined;
    },
  },
  {
    name: "embedding table (authors' .f32 + .json)",
    async make(dir) {
      await saveEmbedding(join(dir, 'emb.f32'), { rows: 5, cols: 4, data: new Float32Array(20).fill(0.25) });
    },
    files: [
      { path: 'emb.f32', rules: [truncate, replaceFile] },
      {
        path: 'emb.json',
        rules: [
          jsonEdits([
            [
              'rows is a string',
              (o) => {
                o.rows = '5';
              },
            ],
            [
              'rows too large for the bytes',
              (o) => {
                o.rows = 6;
              },
            ],
            [
              'cols is 0',
              (o) => {
                o.cols = 0;
              },
            ],
            [
              'dtype is float64',
              (o) => {
                o.dtype = 'float64';
              },
            ],
            [
              'rows missing',
              (o) => {
                delete o.rows;
              },
            ],
          ]),
          truncate,
          replaceFile,
        ],
      },
    ],
    load: async (dir) => {
      await loadEmbedding(join(dir, 'emb.f32'));
      return undefined;
    },
  },
  {
    name: 'LLM2CLIP embedding cache (.safetensors + .json)',
    async make(dir) {
      await writeEmbeddingTable(
        join(dir, 'text.safetensors'),
        {
          encoder: 'tfidf',
          modality: 'text',
          dim: 4,
          rows: 4,
          data: new Float32Array(16).fill(0.5).fill(0, 0, 4),
          done: Uint8Array.from([0, 1, 1, 1]),
          inputHash: Int32Array.from([0, 11, 12, 13]),
          missing: new Map(),
        },
        true,
      );
    },
    files: [{ path: 'text.safetensors', rules: SAFE_RULES }],
    load: async (dir) => {
      await readEmbeddingTable(join(dir, 'text.safetensors'));
      return undefined;
    },
  },
];

const resumeData = generateSynthetic({
  seed: 12,
  numUsers: 24,
  numItems: 20,
  numClusters: 3,
  maxSequenceLength: 8,
});
/** Two epochs of a tiny SASRec checkpointed in `dir`: the first call trains, a second one resumes and returns. */
function sasrecResume(dir: string): Parameters<typeof trainSasrec>[0] {
  return {
    data: resumeData,
    model: { hiddenUnits: 8, numBlocks: 1, numHeads: 1, maxLen: 6, dropout: 0.2 },
    train: { epochs: 2, evalEvery: 1, seed: 4, batchSize: 8 },
    checkpointDir: dir,
    progress: null,
  };
}
function stateOf(o: Record<string, unknown>): Record<string, unknown> {
  return o.state as Record<string, unknown>;
}

function vocabOf(o: Record<string, unknown>): Record<string, unknown> {
  return (o.model as { vocab: Record<string, unknown> }).vocab;
}
function mergesOf(o: Record<string, unknown>): unknown[] {
  return (o.model as { merges: unknown[] }).merges;
}
function addedOf(o: Record<string, unknown>): Record<string, unknown>[] {
  return o.added_tokens as Record<string, unknown>[];
}

function applyMutation(dir: string, rel: string, m: Mutation): void {
  const p = join(dir, rel);
  rmSync(p, { recursive: true, force: true });
  if (m.bytes === 'dir') mkdirSync(p);
  else if (m.bytes !== null) writeFileSync(p, m.bytes);
}

function isTyped(e: unknown): boolean {
  return e instanceof MmesidError || e instanceof DatasetError;
}

for (const format of FORMATS) {
  describe.skipIf(!!format.skip)(`malformed ${format.name}`, () => {
    const pristine = join(root, format.name.replace(/[^A-Za-z0-9]+/g, '_'));
    const cases: { file: string; m: Mutation }[] = [];
    const s = { cases: 0, typed: 0, namesFile: 0, clean: 0 };
    summary[format.name] = s;

    beforeAll(async () => {
      mkdirSync(pristine, { recursive: true });
      await format.make(pristine);
    });

    it('the valid files load', async () => {
      const before = tf.memory().numTensors;
      (await format.load(pristine))?.dispose();
      expect(tf.memory().numTensors).toBe(before);
      for (const f of format.files) {
        const bytes = new Uint8Array(readFileSync(join(pristine, f.path)));
        for (const rule of f.rules) for (const m of rule(bytes)) cases.push({ file: f.path, m });
      }
      s.cases = cases.length;
      expect(cases.length).toBeGreaterThan(0);
    });

    it('every malformed variant fails with a typed error naming the file, writes nothing and frees every tensor', async () => {
      const failures: string[] = [];
      let k = 0;
      for (const { file, m } of cases) {
        const dir = join(root, `case-${format.name.replace(/[^A-Za-z0-9]+/g, '_')}-${k++}`);
        cpSync(pristine, dir, { recursive: true });
        applyMutation(dir, file, m);
        const snap = snapshot(dir);
        const tensors = tf.memory().numTensors;
        let err: unknown;
        try {
          (await format.load(dir))?.dispose();
        } catch (e) {
          err = e;
        }
        const msg = err instanceof Error ? err.message : '';
        const typed = isTyped(err);
        // The mutated file, or another file of the same folder that the fault shows up in (an adapter
        // config naming modules the weights lack is reported on the weights), by full path.
        const named = msg.includes(basename(file)) || msg.includes(dir);
        const leaked = tf.memory().numTensors - tensors;
        const wrote = snapshot(dir) !== snap;
        if (typed) s.typed++;
        if (named) s.namesFile++;
        if (typed && named && leaked === 0 && !wrote) s.clean++;
        else
          failures.push(
            `${file}: ${m.name}: ${err === undefined ? 'accepted' : `${(err as Error).name ?? typeof err}: ${msg.slice(0, 160)}`}` +
              `${leaked ? ` [${leaked} tensors left]` : ''}${wrote ? ' [wrote files]' : ''}`,
          );
        rmSync(dir, { recursive: true, force: true });
        if (existsSync(dir)) throw new Error('cleanup failed');
      }
      expect(failures, failures.join('\n')).toEqual([]);
    }, 120_000);
  });
}
