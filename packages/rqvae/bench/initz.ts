import { leaveOneOut, loadAuthorsDataset, loadEmbedding } from '@mmesid/datasets';
import { behaviouralPairs, distanceOrderTau } from '@mmesid/metrics';
import { initBackend, kaimingNormal, kaimingUniform, Rng, tf, xavierNormal } from '@mmesid/tensor';

await initBackend({ require: 'wasm', log: false });
const dir = '/work/shared/datasets/beauty';
const emb = await loadEmbedding(`${dir}/sasrec_item_emb.f32`);
const items = { rows: emb.rows - 1, cols: emb.cols, data: emb.data.slice(emb.cols) };
const split = leaveOneOut(await loadAuthorsDataset(dir));
const bp = behaviouralPairs(split.test);
const pairs = { first: bp.first.map((v) => v - 1), second: bp.second.map((v) => v - 1) };
const X = tf.tensor2d(items.data, [items.rows, 64]);
for (const [name, init] of [
  ['kaimingU', kaimingUniform()],
  ['xavierN', xavierNormal()],
  ['kaimingN', kaimingNormal()],
] as const) {
  for (const sizes of [
    [64, 256, 128, 64],
    [64, 512, 512, 64],
    [64, 1024, 256],
    [64, 2048, 2048, 512],
  ]) {
    const rng = new Rng(1);
    const z = tf.tidy(() => {
      let h: tf.Tensor = X;
      for (let i = 0; i + 1 < sizes.length; i++) {
        const w = init([sizes[i + 1]!, sizes[i]!], rng);
        h = tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D, false, true);
        if (i + 2 < sizes.length) h = tf.relu(h);
      }
      return h;
    });
    const zd = (await z.data()) as Float32Array;
    const zm = { rows: items.rows, cols: sizes[sizes.length - 1]!, data: zd };
    let v = 0;
    for (const a of zd) v += a * a;
    v /= zd.length;
    console.log(
      name,
      sizes.join('-'),
      'var',
      v.toFixed(4),
      'tauZ',
      distanceOrderTau(items, zm, pairs).tau.toFixed(4),
    );
    z.dispose();
  }
}
