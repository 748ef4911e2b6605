// Scratch experiment (not the benchmark): trains one configuration on Beauty and prints tau.

import { leaveOneOut, loadAuthorsDataset, loadEmbedding } from '@mmesid/datasets';
import { behaviouralPairs, distanceOrderTau } from '@mmesid/metrics';
import { initBackend } from '@mmesid/tensor';
import { type EmbeddingMatrix, MMRQVAE, RQKMeans, tokenizerReport, trainRqvae } from '../src/index.ts';

const env = process.env;
await initBackend({ require: (env.BACKEND ?? 'wasm') as 'wasm', log: false });
const dir = '/work/shared/datasets/beauty';
const emb = await loadEmbedding(`${dir}/sasrec_item_emb.f32`);
const items: EmbeddingMatrix = { rows: emb.rows - 1, cols: emb.cols, data: emb.data.slice(emb.cols) };
const ds = await loadAuthorsDataset(dir);
const split = leaveOneOut(ds);
const bp = behaviouralPairs(split.test);
const pairs = { first: bp.first.map((v) => v - 1), second: bp.second.map((v) => v - 1) };
console.log('pairs', pairs.first.length);
const kind = env.KIND ?? 'mmd';
if (kind === 'rqk') {
  const t0 = performance.now();
  const rqk = new RQKMeans({
    modalities: [{ name: 'c', inputDim: 64 }],
    kmeansIters: Number(env.KITERS ?? 100),
  });
  await rqk.fit({ c: items });
  const rep = await tokenizerReport(rqk, { c: items }, { pairs });
  console.log(
    JSON.stringify({
      kind,
      sec: (performance.now() - t0) / 1000,
      ...rep.c,
      perLevel: rep.c!.perLevel.map((l) => [l.usedCodes, +l.perplexity.toFixed(1)]),
    }),
  );
} else {
  const model = new MMRQVAE({
    modalities: [{ name: 'c', inputDim: 64 }],
    eDim: Number(env.EDIM ?? 256),
    hiddenLayers: JSON.parse(env.HIDDEN ?? '[1024]'),
    init: (env.INIT ?? 'kaiming_normal') as 'kaiming_normal',
    reconstruction: kind as 'mmd' | 'mse',
    reconstructionWeight: Number(env.RW ?? 3),
    commitmentWeight: Number(env.BETA ?? 0.01),
    detachResidual: env.DETACH === '1',
    kmeansIters: Number(env.KITERS ?? 20),
    sinkhornEpsilons: env.SK === '0' ? [] : [0, 0, 0, 0.003],
  });
  const t0 = performance.now();
  const res = await trainRqvae(
    model,
    { c: items },
    {
      maxEpochs: Number(env.EPOCHS ?? 50),
      patience: Number(env.PATIENCE ?? 0),
      lr: Number(env.LR ?? 2e-4),
      batchSize: Number(env.BS ?? 1024),
      logEvery: Number(env.LOG ?? 10),
      maxSeconds: Number(env.MAXSEC ?? 0),
      deadCodeEvery: Number(env.DEAD ?? 1),
    },
    {
      onEpoch: async (r) => {
        if (env.EVAL && (r.epoch + 1) % Number(env.EVAL) === 0) {
          const rep = await tokenizerReport(model, { c: items }, { pairs });
          const z = await model.encode({ c: items });
          console.log(
            `  eval@${r.epoch + 1} tauZ ${distanceOrderTau(items, z.c!, pairs).tau.toFixed(4)} tauQ ${rep.c!.tauQuantized!.toFixed(4)} tauR ${rep.c!.tauReconstructed!.toFixed(4)} coll ${rep.c!.duplicateRate.toFixed(4)} mse ${rep.c!.reconstructionMse.toFixed(4)}`,
          );
          model.train();
        }
      },
    },
  );
  const rep = await tokenizerReport(model, { c: items }, { pairs });
  // Tau of the encoder output itself (no quantisation), to separate encoder and quantiser effects.
  const z = await model.encode({ c: items });
  const tz = distanceOrderTau(items, z.c!, pairs).tau;
  console.log(
    JSON.stringify({
      kind,
      sec: (performance.now() - t0) / 1000,
      epochs: res.epochs,
      best: res.bestEpoch,
      tauZ: tz,
      ...rep.c,
      perLevel: rep.c!.perLevel.map((l) => [l.usedCodes, +l.perplexity.toFixed(1)]),
    }),
  );
}
