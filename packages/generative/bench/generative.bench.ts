// Decoding throughput of generative retrieval (trie-constrained beam search) on the authors' Amazon
// Beauty (12,086 items) with stories260k as the LLM: users/s at beam 20, batch 1 and batch 16, KV-cache reorder by tf.gather and in host memory (interleaved), for
// (a) collaborative SIDs from RQ-KMeans on the authors' SASRec table (L 4, K 256; real codes, real
// collisions) and (b) TIGER-MM's shape: collaborative + two stand-in modalities (seeded random
// codes, L 4, K 256 each; the cost depends on the lengths, not on the values) with every modality
// generated. The model is untrained (LoRA at its zero init): throughput does not depend on the
// weights. Writes benchmarks/results/generative.json.
// Run: pnpm --filter @mmesid/generative bench [-- --backend wasm --users 64 --batches 1,16 --reorders gather,host
//   --max-history 20 --out benchmarks/results/generative.json]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { leaveOneOut, loadAuthorsDataset, loadEmbedding } from '@mmesid/datasets';
import { fromPretrained, Llama2cTokenizer } from '@mmesid/llama';
import { RQKMeans } from '@mmesid/rqvae';
import { type BackendName, initBackend, Rng, tf } from '@mmesid/tensor';
import { beamSearch, GenerativeRecommender, type SidSegmentCodes, tigerMmVocabulary } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    backend: { type: 'string', default: 'wasm' },
    data: { type: 'string', default: resolve(here, '../../../../shared/datasets/beauty') },
    llama: { type: 'string', default: resolve(here, '../../../../shared/models/stories260k') },
    users: { type: 'string', default: '64' },
    beam: { type: 'string', default: '20' },
    'kmeans-iters': { type: 'string', default: '10' },
    batches: { type: 'string', default: '1,16' },
    reorders: { type: 'string', default: 'gather,host' },
    /** History items in a prompt (the paper preset's 20; the tiny presets use 10). */
    'max-history': { type: 'string', default: '20' },
    /** Output file, relative to the repository root. */
    out: { type: 'string', default: 'benchmarks/results/generative.json' },
  },
});
const maxHistory = Number(args['max-history']);
const users = Number(args.users);
const beam = Number(args.beam);
const batches = args.batches.split(',').map(Number);
const reorders = args.reorders.split(',') as ('gather' | 'host')[];
const settings = reorders.flatMap((reorder) => batches.map((batch) => ({ batch, reorder })));
const key = (s: { batch: number; reorder: string }) => `${s.reorder}/${s.batch}`;
const loadAtStart = loadavg();

await initBackend({ require: args.backend as BackendName, log: false });
const dataset = await loadAuthorsDataset(args.data);
const N = dataset.numItems;
const split = leaveOneOut(dataset);
const sasrec = await loadEmbedding(resolve(args.data, 'sasrec_item_emb.f32'));

const L = 4;
const K = 256;
const t0 = performance.now();
const rqk = new RQKMeans({
  modalities: [{ name: 'collaborative', inputDim: sasrec.cols }],
  levels: L,
  codebookSize: K,
  kmeansIters: Number(args['kmeans-iters']),
});
// Row 0 is padding; fit and assign on items 1..N only.
const items = { rows: N, cols: sasrec.cols, data: sasrec.data.subarray(sasrec.cols) };
await rqk.fit({ collaborative: items });
const assigned = (await rqk.assign({ collaborative: items })).collaborative!;
rqk.dispose();
const tokenizerSeconds = (performance.now() - t0) / 1000;
const collaborative: SidSegmentCodes = { ids: new Int32Array((N + 1) * L), levels: L, codebookSize: K };
collaborative.ids.set(assigned, L);
const standIn = (seed: string): SidSegmentCodes => {
  const rng = new Rng(seed);
  const ids = new Int32Array((N + 1) * L);
  for (let i = L; i < ids.length; i++) ids[i] = rng.int(K);
  return { ids, levels: L, codebookSize: K };
};

const tok = await Llama2cTokenizer.load(resolve(args.llama, 'tokenizer.llama2c.json'));
const prompt = {
  prefix: tok.encode('History:', { bos: true }),
  suffix: tok.encode(' Next:', { bos: false }),
};
const test = split.test.slice(0, users);

const configs = {
  'collaborative (RQ-KMeans on SASRec)': { collaborative },
  'TIGER-MM shape (3 modalities, all generated)': {
    collaborative,
    text: standIn('text'),
    visual: standIn('visual'),
  },
};
const results = [];
for (const [name, segments] of Object.entries(configs)) {
  const vocab = tigerMmVocabulary(segments);
  const lm = await fromPretrained(args.llama, { log: () => {} });
  const gen = await GenerativeRecommender.create({ lm, vocab, prompt, seed: 0, maxHistory });
  gen.eval();
  // Users in order of prompt length (as evaluateGenerative batches them), so a batch pads little.
  const users = [...test].sort((a, b) => gen.promptIds(a.history).length - gen.promptIds(b.history).length);
  // Warm-up (kernel set-up) at every setting, not timed.
  for (const st of settings) {
    gen.cacheReorder = st.reorder;
    await gen.recommend(
      users.slice(0, st.batch).map((e) => e.history),
      { beamWidth: beam },
    );
  }
  // Settings are interleaved block by block (a block = the largest batch's users), so a change of
  // load from the other processes on the machine falls on every setting alike.
  const acc = new Map(
    settings.map((st) => [key(st), { seconds: 0, prefill: 0, forwards: 0, load: [] as number[] }]),
  );
  const block = Math.max(...batches);
  for (let s0 = 0; s0 < users.length; s0 += block) {
    const blockUsers = users.slice(s0, s0 + block);
    for (const st of settings) {
      gen.cacheReorder = st.reorder;
      const a = acc.get(key(st))!;
      a.load.push(loadavg()[0]!);
      const start = performance.now();
      for (let s = 0; s < blockUsers.length; s += st.batch) {
        const hist = blockUsers.slice(s, s + st.batch).map((e) => e.history);
        const dec = gen.decoder(hist);
        // The prompt's forward (prefill) timed apart from the beam steps: what sharing prompt work
        // between users could save at most.
        const timed = {
          vocabSize: dec.vocabSize,
          first: async () => {
            const t = performance.now();
            const lp = await dec.first();
            a.prefill += (performance.now() - t) / 1000;
            return lp;
          },
          next: (p: Int32Array, tk: Int32Array) => dec.next(p, tk),
        };
        try {
          await beamSearch(timed, gen.trie, hist.length, { beamWidth: beam, exclude: hist });
        } finally {
          a.forwards += dec.forwards;
          dec.dispose();
        }
      }
      a.seconds += (performance.now() - start) / 1000;
    }
  }
  const promptTokens = test.reduce((n, e) => n + gen.promptIds(e.history).length, 0) / test.length;
  for (const st of settings) {
    const { seconds, prefill, forwards, load } = acc.get(key(st))!;
    const r = {
      config: name,
      beamWidth: beam,
      batchUsers: st.batch,
      cacheReorder: st.reorder,
      users: test.length,
      seconds: Number(seconds.toFixed(3)),
      usersPerSecond: Number((test.length / seconds).toFixed(3)),
      msPerUser: Number(((1000 * seconds) / test.length).toFixed(2)),
      /** Of which the prompts' forward (prefill), the rest being the beam steps and the trie. */
      prefillMsPerUser: Number(((1000 * prefill) / test.length).toFixed(2)),
      forwardPasses: forwards,
      /** 1-minute load average when each of this batch size's blocks started (2 cores). */
      loadavg1AtBlocks: load.map((x) => Number(x.toFixed(2))),
      meanPromptTokens: Number(promptTokens.toFixed(1)),
      /** Tokens every prompt shares at its start (the instruction prefix, BOS included). */
      sharedPrefixTokens: prompt.prefix.length,
      targetTokens: vocab.targetLength,
      historyTokensPerItem: vocab.historyLength,
      sidVocabulary: vocab.size,
      collisions: vocab.collisions,
      liveTensorsAfter: tf.memory().numTensors,
    };
    console.log(JSON.stringify(r));
    results.push(r);
  }
  gen.dispose();
}

const out = {
  what: 'generative retrieval decoding throughput: trie-constrained beam search, KV cache reused across steps, history hidden',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavgAtStart: loadAtStart,
    loadavgAtEnd: loadavg(),
  },
  timing:
    'settings (batch size x KV-cache reorder) interleaved block by block over the same users, ordered by prompt length (a block = the largest batch), so load changes from other processes fall on all of them alike; loadavg1AtBlocks records the 1-minute load average at each block. cacheReorder: gather = tf.gather of the cache rows on the backend, host = row blocks copied in host memory',
  backend: tf.getBackend(),
  dataset: {
    name: dataset.name,
    numItems: N,
    users: dataset.sequences.length,
    testUsersDecoded: test.length,
  },
  llm: 'stories260k (d 64, 5 layers, 512 text tokens), untrained LoRA r 8 on gate/up/down_proj',
  command: `generative bench ${process.argv.slice(2).join(' ')}`,
  prompt: `'History:' + the items' SID tokens (last ${maxHistory} items) + ' Next:' (llama2.c tokenizer)`,
  tokenizer: {
    kind: 'RQ-KMeans',
    levels: L,
    codebookSize: K,
    kmeansIters: Number(args['kmeans-iters']),
    seconds: Number(tokenizerSeconds.toFixed(1)),
  },
  note: 'Beam search returns only the beam (top 20); full ranking (fusion.json) scores all 12,086 items per user. Metrics at k <= beam only.',
  results,
};
const file = resolve(here, '../../..', args.out);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.log(`wrote ${file}`);
