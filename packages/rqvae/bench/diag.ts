import { loadEmbedding } from '@mmesid/datasets';
import { behaviouralPairs, distanceOrderTau } from '@mmesid/metrics';
import { initBackend, tf } from '@mmesid/tensor';
import { type EmbeddingMatrix, MMRQVAE, tokenizerReport, trainRqvae } from '../src/index.ts';

const env = process.env;
await initBackend({ require: 'wasm', log: false });
const emb = await loadEmbedding('/work/shared/datasets/beauty/sasrec_item_emb.f32');
const N = Number(env.N ?? 3000);
const items: EmbeddingMatrix = { rows: N, cols: 64, data: emb.data.slice(64, 64 + N * 64) };
const pairs = {
  first: Int32Array.from({ length: 2000 }, (_, i) => (i * 7) % N),
  second: Int32Array.from({ length: 2000 }, (_, i) => (i * 13 + 5) % N),
};
const model = new MMRQVAE({
  modalities: [{ name: 'c', inputDim: 64 }],
  eDim: Number(env.EDIM ?? 256),
  hiddenLayers: JSON.parse(env.HIDDEN ?? '[1024]'),
  reconstruction: (env.KIND ?? 'mmd') as 'mmd',
  kmeansIters: 20,
  init: (env.INIT ?? 'kaiming_normal') as 'kaiming_normal',
  commitmentWeight: Number(env.BETA ?? 0.01),
  detachResidual: env.DETACH === '1',
  sinkhornEpsilons: env.SK === '0' ? [] : [0, 0, 0, 0.003],
  codebookSize: Number(env.K ?? 256),
});
const stats = async (tag: string) => {
  const rep = (await tokenizerReport(model, { c: items }, { pairs })).c!;
  const z = (await model.encode({ c: items })).c!;
  let m = 0,
    v = 0;
  for (const x of z.data) {
    m += x;
    v += x * x;
  }
  m /= z.data.length;
  v = v / z.data.length - m * m;
  const tz = distanceOrderTau(items, z, pairs).tau;
  console.log(
    tag,
    `zvar ${v.toFixed(4)} tauZ ${tz.toFixed(3)} tauQ ${rep.tauQuantized!.toFixed(3)} tauR ${rep.tauReconstructed!.toFixed(3)} dup ${rep.duplicateRate.toFixed(3)} used ${rep.perLevel.map((l) => l.usedCodes).join('/')} mse ${rep.reconstructionMse.toFixed(4)}`,
  );
  model.train();
};
await trainRqvae(
  model,
  { c: items },
  {
    maxEpochs: Number(env.EPOCHS ?? 8),
    patience: 0,
    logEvery: 1,
    lr: Number(env.LR ?? 2e-4),
    batchSize: 1024,
    deadCodeEvery: Number(env.DEAD ?? 0),
  },
  { onEpoch: (r) => ((r.epoch + 1) % Number(env.EVERY ?? 1) === 0 ? stats(`ep${r.epoch + 1}`) : undefined) },
);
