// Quick start: train a small two-modality MM-RQ-VAE on synthetic item embeddings, read the
// semantic IDs, export them for the fine-tuning stage and load them back, beside RQ-KMeans.
// Run in this repo with `pnpm --filter @mmesid/rqvae example` (a few seconds on WASM).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EmbeddingMatrix,
  exportSemanticIds,
  loadExport,
  MMRQVAE,
  RQKMeans,
  tokenizerReport,
  trainRqvae,
} from '@mmesid/rqvae';
import { initBackend, Rng } from '@mmesid/tensor';

await initBackend({ prefer: 'wasm' });

// 600 items in 12 clusters; the "text" view is a noisy linear map of the collaborative one.
const n = 600;
const rng = new Rng(1);
const centres = Array.from({ length: 12 }, () => Array.from({ length: 32 }, () => rng.normal(0, 1)));
const proj = Array.from({ length: 32 * 48 }, () => rng.normal(0, 0.2));
const collab = new Float32Array(n * 32);
const text = new Float32Array(n * 48);
for (let i = 0; i < n; i++) {
  for (let j = 0; j < 32; j++) collab[i * 32 + j] = centres[i % 12]![j]! + rng.normal(0, 0.3);
  for (let k = 0; k < 48; k++) {
    let s = 0;
    for (let j = 0; j < 32; j++) s += collab[i * 32 + j]! * proj[j * 48 + k]!;
    text[i * 48 + k] = s + rng.normal(0, 0.05);
  }
}
const inputs: Record<string, EmbeddingMatrix> = {
  collaborative: { rows: n, cols: 32, data: collab },
  text: { rows: n, cols: 48, data: text },
};

const model = new MMRQVAE({
  modalities: [
    { name: 'collaborative', inputDim: 32 },
    { name: 'text', inputDim: 48 },
  ],
  eDim: 32,
  hiddenLayers: [128],
  levels: 3,
  codebookSize: 16,
  reconstruction: 'mmd', // MME-SID Eq. 4; 'mse' is TIGER's
  alignment: 'infonce', // MME-SID Eq. 6; 'mmd' is what the released code trains
  kmeansIters: 20,
  sinkhornEpsilons: [0, 0, 0.003],
});
const result = await trainRqvae(model, inputs, {
  maxEpochs: 30,
  batchSize: 200,
  lr: 1e-3,
  logEvery: 10,
  deadCodeEvery: 5,
});
console.log(
  `trained ${result.epochs} epochs, best loss ${result.bestLoss.toFixed(4)} at epoch ${result.bestEpoch + 1}`,
);

const ids = await model.assign(inputs); // { collaborative: Int32Array n x 3, text: Int32Array n x 3 }
console.log(
  'item 0 semantic IDs:',
  Array.from(ids.collaborative!.subarray(0, 3)),
  Array.from(ids.text!.subarray(0, 3)),
);

const pairs = {
  first: Int32Array.from({ length: 300 }, (_, i) => i),
  second: Int32Array.from({ length: 300 }, (_, i) => i + 12),
};
const report = await tokenizerReport(model, inputs, { pairs });
for (const [m, r] of Object.entries(report))
  console.log(
    `${m}: collisions ${(100 * r.duplicateRate).toFixed(1)}%, usage ${r.perLevel.map((l) => l.usedCodes).join('/')}, tau ${r.tauQuantized?.toFixed(3)}`,
  );

const dir = await mkdtemp(join(tmpdir(), 'rqvae-example-'));
await exportSemanticIds(model, inputs, join(dir, 'sid'));
const loaded = await loadExport(join(dir, 'sid'));
const c = loaded.modalities.collaborative!;
console.log(
  `exported ${c.rows} items: ids ${c.rows}x${c.levels}, codebooks ${c.levels}x${c.codebookSize}x${c.dim}`,
);

const baseline = new RQKMeans({
  modalities: [{ name: 'collaborative', inputDim: 32 }],
  levels: 3,
  codebookSize: 16,
});
await baseline.fit({ collaborative: inputs.collaborative! });
const rb = (await tokenizerReport(baseline, { collaborative: inputs.collaborative! }, { pairs }))
  .collaborative!;
console.log(
  `RQ-KMeans: collisions ${(100 * rb.duplicateRate).toFixed(1)}%, tau ${rb.tauQuantized?.toFixed(3)}`,
);

model.dispose();
baseline.dispose();
await rm(dir, { recursive: true, force: true });
