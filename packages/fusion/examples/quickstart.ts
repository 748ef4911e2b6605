// The README's example: MME-SID on a synthetic dataset with stories260k, end to end in about a minute
// on WASM. Run from packages/fusion:
//   pnpm exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs examples/quickstart.ts
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic, itemFrequency, leaveOneOut } from '@mmesid/datasets';
import {
  createMmeSid,
  embeddingSpectra,
  evaluateMmeSid,
  exportRun,
  loadRun,
  recommend,
  sidDistanceTau,
  trainMmeSid,
} from '@mmesid/fusion';
import { randomItemPairs } from '@mmesid/metrics';
import { exportSemanticIds, loadExport, RQKMeans } from '@mmesid/rqvae';
import { initBackend, Rng } from '@mmesid/tensor';

await initBackend({ require: 'wasm' });
const llama = process.env.LLAMA_DIR ?? '../../../shared/models/stories260k';

// 1. Data: a synthetic dataset and one embedding table per modality, N + 1 rows (row 0 = padding).
const dataset = generateSynthetic({ numUsers: 200, numItems: 120, seed: 1 });
const N = dataset.numItems;
const split = leaveOneOut(dataset);
const rng = new Rng(1);
const table = (cols: number) => ({
  rows: N + 1,
  cols,
  data: rng.fillNormal(new Float32Array((N + 1) * cols), 0, 0.5),
});
const tables = { collaborative: table(32), visual: dataset.visual, text: table(32) }; // stand-ins for SASRec / LLM2CLIP

// 2. Semantic IDs: any @mmesid/rqvae tokenizer export (RQ-KMeans here, the MM-RQ-VAE in the paper).
const rows = (t: { cols: number; data: Float32Array }) => ({
  rows: N,
  cols: t.cols,
  data: t.data.subarray(t.cols),
});
const rq = new RQKMeans({
  modalities: Object.entries(tables).map(([name, t]) => ({ name, inputDim: t.cols })),
  levels: 3,
  codebookSize: 16,
  seed: 1,
});
const inputs = Object.fromEntries(Object.entries(tables).map(([m, t]) => [m, rows(t)]));
await rq.fit(inputs);
const sidDir = await mkdtemp(join(tmpdir(), 'sids-'));
await exportSemanticIds(rq, inputs, sidDir, { firstItemId: 1 });
rq.dispose();

// 3. The model: MME-SID on stories260k (efficient training needs the item tokens at the end of the prompt).
const model = await createMmeSid({
  variant: 'MME-SID',
  config: { itemsAtEnd: true },
  numItems: N,
  tables,
  semanticIds: await loadExport(sidDir),
  frequency: itemFrequency(split.train, N),
  llama,
  promptStyle: 'minimal',
});
console.log(model.parameterSummary().text);

// 4. Forgetting before training, train, evaluate, forgetting after.
const pairs = randomItemPairs(N, 2000, { seed: 1 });
const before = await sidDistanceTau(model, tables.collaborative, pairs);
const result = await trainMmeSid(model, split.train, {
  mode: 'efficient',
  epochs: 1,
  lr: 1e-3,
  warmupSteps: 5,
  logEvery: 5,
});
console.log(result.modeNote);
const { metrics } = await evaluateMmeSid(model, split.test);
console.log(`HR@10 ${metrics.hr[10]!.toFixed(4)}  nDCG@10 ${metrics.ndcg[10]!.toFixed(4)}`);
const after = await sidDistanceTau(model, tables.collaborative, pairs);
console.log(
  `Kendall tau of collaborative SID distances: ${before.tau.toFixed(4)} -> ${after.tau.toFixed(4)}`,
);
const { itemTokens } = await embeddingSpectra(model);
console.log(
  `item-token spectrum (log10, first 5): ${Array.from(itemTokens.log10.slice(0, 5), (v) => v.toFixed(2)).join(' ')}`,
);

// 5. Export for inference and recommend from the loaded run.
const runDir = join(sidDir, 'run');
await exportRun(model, runDir, { metadata: { metrics } });
model.dispose();
const loaded = await loadRun(runDir);
const rec = await recommend(loaded, split.test[0]!.history, 5);
console.log(
  'top 5:',
  rec.items,
  'fusion weights of the first:',
  rec.terms.map((t, i) => `${t} ${rec.weights[0]![i]!.toFixed(2)}`).join(', '),
);
loaded.dispose();
