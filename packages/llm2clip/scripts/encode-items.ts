/**
 * Encodes a dataset's items (the authors' items.csv layout) into text and image embedding tables with
 * the LLM2CLIP encoders or the offline ones, resumably. See the package README ("Encoding Beauty").
 *
 *   pnpm --filter @mmesid/llm2clip encode -- --out=cache/beauty \
 *     --text=llm2clip --llm=/models/LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned --adapter=/models/LLM2CLIP-Openai-L-14-336 \
 *     --image=clip --clip=/models/LLM2CLIP-Openai-L-14-336 --images=/data/beauty-images --backend=tfjs-node-gpu
 *
 * Options (all --key=value):
 *   --data=DIR          folder with items.csv (default ../shared/datasets/beauty)
 *   --out=PREFIX        tables go to PREFIX.text.safetensors / PREFIX.image.safetensors (+ .json)
 *   --text=KIND         llm2clip | llama-mean-pool | tfidf | none (default none)
 *   --llm=DIR           LLM2Vec Llama directory (config.json, safetensors, tokenizer.json) for --text=llm2clip
 *   --adapter=PATH      LLM2CLIP checkpoint (dir or .safetensors) holding the text adapter
 *   --chat-template=T   none (default, as the MME-SID authors) | llama3-user
 *   --llama=DIR         any Llama directory for --text=llama-mean-pool (e.g. ../shared/models/stories260k)
 *   --tfidf-dim=D       output dimension for --text=tfidf (default 128); the fitted model is saved beside the table
 *   --image=KIND        clip | none (default none)
 *   --clip=DIR          CLIP / LLM2CLIP checkpoint directory for --image=clip
 *   --images=DIR        local copies of the images, named as the last path segment of each URL
 *                       (without it the URLs are fetched; items whose image cannot be had are reported missing)
 *   --backend=NAME      tfjs backend: tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu (default: best available)
 *   --batch-size=N      items per batch (default 8)
 *   --limit=N           only the first N items (for a trial run)
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAuthorsItems } from '@mmesid/datasets';
import { type BackendName, initBackend } from '@mmesid/tensor';
import {
  ClipVisionEncoder,
  type EncodeItemsResult,
  encodeItems,
  itemsFromMeta,
  LlamaMeanPoolTextEncoder,
  Llm2VecTextEncoder,
  type ModalityEncoder,
  progressPrinter,
  TfidfSvdTextEncoder,
} from '../src/index.js';

const args = new Map(
  process.argv.slice(2).flatMap((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    return m ? [[m[1]!, m[2]!] as const] : [];
  }),
);
const need = (k: string): string => {
  const v = args.get(k);
  if (!v) {
    console.error(`--${k}=... is required here (see the header of scripts/encode-items.ts)`);
    process.exit(2);
  }
  return v;
};

const data = resolve(args.get('data') ?? '../../../shared/datasets/beauty');
const out = need('out');
const batchSize = Number(args.get('batch-size') ?? 8);
const backend = args.get('backend');
const choice = await initBackend(backend ? { require: backend as BackendName } : {});
console.log(`backend: ${choice.name}`);
const csv = join(data, 'items.csv');
let items = itemsFromMeta(parseAuthorsItems(readFileSync(csv, 'utf8'), { file: csv }).items);
const rows = Math.max(...items.map((i) => i.id)) + 1;
if (args.has('limit')) items = items.slice(0, Number(args.get('limit')));
console.log(`${items.length} items from ${csv}`);

async function run(kind: string, encoder: ModalityEncoder, file: string): Promise<EncodeItemsResult> {
  console.log(`${kind}: ${encoder.name} -> ${file}`);
  const bar = progressPrinter(process.stderr);
  const ac = new AbortController();
  const stop = () =>
    ac.abort(new Error('interrupted: the partial table is saved; run the same command again to resume'));
  // Ctrl-C reaches every process of the group; npm/pnpm wrappers may pass SIGTERM on.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await encodeItems(items, encoder, {
      cacheFile: file,
      batchSize,
      rows,
      onProgress: bar.update,
      signal: ac.signal,
    }).catch((e: unknown) => {
      if (!ac.signal.aborted) throw e;
      bar.finish();
      console.error(`\n${(e as Error).message}`);
      return process.exit(130);
    });
    bar.finish();
    console.log(
      `${kind}: ${r.encoded} encoded, ${r.fromCache} from cache, ${r.missing.size} missing, ${r.seconds.toFixed(1)} s` +
        `${r.missing.size ? ` (reasons in ${file.replace(/\.safetensors$/, '.json')})` : ''}`,
    );
    return r;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    encoder.dispose();
  }
}

const text = args.get('text') ?? 'none';
if (text === 'llm2clip') {
  const enc = await Llm2VecTextEncoder.fromPretrained(need('llm'), need('adapter'), {
    chatTemplate: (args.get('chat-template') ?? 'none') as 'none' | 'llama3-user',
  });
  await run('text', enc, `${out}.text.safetensors`);
} else if (text === 'llama-mean-pool') {
  await run(
    'text',
    await LlamaMeanPoolTextEncoder.fromPretrained(need('llama')),
    `${out}.text-llama-mean-pool.safetensors`,
  );
} else if (text === 'tfidf') {
  const dim = Number(args.get('tfidf-dim') ?? 128);
  const model = `${out}.text-tfidf${dim}.model.safetensors`;
  let enc: TfidfSvdTextEncoder;
  try {
    enc = await TfidfSvdTextEncoder.load(model);
    console.log(`text: reusing the fitted TF-IDF + SVD model ${model}`);
  } catch {
    const t0 = performance.now();
    enc = TfidfSvdTextEncoder.fit(
      items.map((i) => i.title ?? ''),
      { dim, seed: 0 },
    );
    await enc.save(model);
    console.log(
      `text: fitted TF-IDF + SVD in ${((performance.now() - t0) / 1000).toFixed(1)} s, saved ${model}`,
    );
  }
  await run('text', enc, `${out}.text-tfidf${dim}.safetensors`);
} else if (text !== 'none') {
  console.error(`--text=${text}: expected llm2clip, llama-mean-pool, tfidf or none`);
  process.exit(2);
}

const image = args.get('image') ?? 'none';
if (image === 'clip') {
  const images = args.get('images');
  const enc = await ClipVisionEncoder.fromPretrained(need('clip'), {
    ...(images ? { resolveImage: (src: string) => join(images, src.split('/').pop()!) } : {}),
  });
  await run('image', enc, `${out}.image.safetensors`);
} else if (image !== 'none') {
  console.error(`--image=${image}: expected clip or none`);
  process.exit(2);
}
