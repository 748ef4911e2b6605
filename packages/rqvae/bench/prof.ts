import { mmdLoss } from '@mmesid/metrics';
import { AdamW, initBackend, Rng, Trainer, tf } from '@mmesid/tensor';
import { MMRQVAE } from '../src/index.ts';

await initBackend({ require: 'wasm', log: false });
const B = 1024;
const x = tf.tensor2d(new Rng(1).fillNormal(new Float32Array(B * 64)), [B, 64]);
async function time(label: string, f: () => tf.Tensor | Promise<unknown>, n = 3) {
  const r0 = f();
  if (r0 instanceof tf.Tensor) {
    await r0.data();
    r0.dispose();
  } else await r0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = f();
    if (r instanceof tf.Tensor) {
      await r.data();
      r.dispose();
    } else await r;
  }
  console.log(label, ((performance.now() - t0) / n).toFixed(1), 'ms');
}
for (const sk of [[], [0, 0, 0, 0.003]]) {
  for (const recon of ['mse', 'mmd'] as const) {
    const m = new MMRQVAE({
      modalities: [{ name: 'c', inputDim: 64 }],
      eDim: 64,
      hiddenLayers: [256, 128],
      reconstruction: recon,
      sinkhornEpsilons: sk,
      kmeansInit: false,
    });
    await time(`fwd ${recon} sk=${sk.length > 0}`, () => m.losses({ c: x }, { sinkhorn: true }).total);
    const tr = new Trainer({ optimizer: new AdamW(m.trainableParameters()) });
    await time(`step ${recon} sk=${sk.length > 0}`, () =>
      tr.step(() => m.losses({ c: x }, { sinkhorn: true }).total),
    );
  }
}
const y = tf.tensor2d(new Rng(2).fillNormal(new Float32Array(B * 64)), [B, 64]);
await time('mmdLoss fwd', () =>
  mmdLoss(x, y, { kernels: [{ bandwidth: 'mean', alpha: 0.5 }], estimator: 'unbiased' }),
);
await time('matmul 2048x64x2048', () =>
  tf.tidy(() => {
    const z = tf.concat([x, y]);
    return tf.matMul(z, z, false, true);
  }),
);
