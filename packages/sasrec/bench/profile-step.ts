// Times one SASRec training step phase by phase (each phase run alone and synchronised with an
// awaited read), then aggregates tf.profile kernel times by op. Used by the Beauty benchmark.
import { AdamW, gatherRows, seededDropout, tf } from '@mmesid/tensor';
import {
  causalPaddingBias,
  type SASRec,
  type SasrecBatch,
  type SasrecLossName,
  sasrecLoss,
} from '../src/index.js';

async function timed(repeats: number, f: () => tf.Tensor | tf.Tensor[] | Promise<unknown>): Promise<number> {
  const run = async () => {
    const r = await f();
    const ts = (Array.isArray(r) ? r : r instanceof tf.Tensor ? [r] : []) as tf.Tensor[];
    for (const t of ts) await t.data();
    tf.dispose(ts);
  };
  await run();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await run();
  return (performance.now() - t0) / repeats;
}

export interface StepProfile {
  batch: { users: number; width: number; positions: number; loss: string };
  ms: Record<string, number>;
  kernelsByOp: { op: string; calls: number; ms: number }[];
  kernelCount: number;
}

/** Phase timings (ms) of a training step on `batch`, plus kernel time by op from tf.profile. */
export async function profileStep(
  model: SASRec,
  batch: SasrecBatch,
  loss: SasrecLossName,
  repeats = 10,
): Promise<StepProfile> {
  model.train();
  // A throw-away optimiser with lr 0: the update runs in full but changes no weight.
  const optimizer = new AdamW(model.trainableParameters(), { lr: 0, weightDecay: 0 });
  const cfg = model.config;
  const d = cfg.hiddenUnits;
  const ids = tf.tensor2d(batch.inputs, [batch.size, batch.length], 'int32');
  const rng = model.dropoutRng;
  const embed = () =>
    tf.tidy(() => {
      const [B, L] = ids.shape;
      const items = gatherRows(model.itemEmbeddings as tf.Tensor2D, ids.reshape([-1]) as tf.Tensor1D).reshape(
        [B, L, d],
      );
      const pos = model.pos_emb.weight.slice([cfg.maxLen - L, 0], [L, d]);
      return tf.mul(
        seededDropout(tf.add(tf.mul(items, Math.sqrt(d)), pos), cfg.dropout, rng),
        1,
      ) as tf.Tensor3D;
    });
  const x = embed();
  const valid = tf.tidy(() => tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D);
  const bias = causalPaddingBias(valid);
  const q = model.attention_layernorms[0]!.forward(x) as tf.Tensor3D;
  const ms: Record<string, number> = {};
  ms['embedding (gather, scale, positions, dropout)'] = await timed(repeats, embed);
  ms['attention mask'] = await timed(repeats, () => causalPaddingBias(valid));
  ms['layernorm (one)'] = await timed(repeats, () => model.attention_layernorms[0]!.forward(x));
  ms['attention block (one)'] = await timed(repeats, () =>
    model.attention_layers[0]!.forward(q, x, bias, rng),
  );
  ms['feed-forward (one)'] = await timed(repeats, () => model.forward_layers[0]!.forward(x, rng));
  ms['forward + loss (whole)'] = await timed(repeats, () => sasrecLoss(model, batch, loss));
  const vars = [...optimizer.params.values()];
  ms['forward + backward (whole)'] = await timed(repeats, () => {
    const { value, grads } = tf.variableGrads(() => sasrecLoss(model, batch, loss), vars);
    return [value, ...Object.values(grads)];
  });
  ms['backward (difference)'] = ms['forward + backward (whole)']! - ms['forward + loss (whole)']!;
  // Embedding gradient alone: the scatter-add of the gathered rows' gradients into the table.
  const rows = tf.tensor1d(batch.inputs, 'int32');
  ms['item-table gather + gradient, gatherRows (GatherNd/ScatterNd)'] = await timed(repeats, () => {
    const { grads } = tf.variableGrads(
      () => tf.sum(gatherRows(model.itemEmbeddings as tf.Tensor2D, rows)) as tf.Scalar,
      [model.itemEmbeddings],
    );
    return Object.values(grads);
  });
  ms['item-table gather + gradient, tf.gather (GatherV2/UnsortedSegmentSum)'] = await timed(repeats, () => {
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.gather(model.itemEmbeddings, rows)) as tf.Scalar,
      [model.itemEmbeddings],
    );
    return Object.values(grads);
  });
  const grads = tf.tidy(() => {
    const { value, grads: g } = tf.variableGrads(() => sasrecLoss(model, batch, loss), vars);
    value.dispose();
    return g;
  });
  const byKey = new Map([...optimizer.params].map(([k, v]) => [k, grads[v.name]!]));
  ms['Adam update (all parameters)'] = await timed(repeats, async () => {
    optimizer.step(byKey, 0);
    await model.itemEmbeddings.data();
  });
  const big = tf.tidy(() => tf.randomNormal([batch.size * batch.length, d]) as tf.Tensor2D);
  const w = tf.tidy(() => tf.randomNormal([d, d]) as tf.Tensor2D);
  ms[`matmul ${big.shape[0]}x${d} @ ${d}x${d} (plain)`] = await timed(repeats, () => tf.matMul(big, w));
  ms[`matmul ${big.shape[0]}x${d} @ (${d}x${d})^T (transposeB flag)`] = await timed(repeats, () =>
    tf.matMul(big, w, false, true),
  );
  const prof = await tf.profile(async () => {
    const { value, grads: g } = tf.variableGrads(() => sasrecLoss(model, batch, loss), vars);
    await value.data();
    tf.dispose([value, ...Object.values(g)]);
  });
  const agg = new Map<string, { calls: number; ms: number }>();
  for (const k of prof.kernels) {
    const a = agg.get(k.name) ?? { calls: 0, ms: 0 };
    a.calls++;
    a.ms += Number(k.kernelTimeMs) || 0;
    agg.set(k.name, a);
  }
  tf.dispose([ids, x, valid, bias, q, rows, big, w, ...Object.values(grads)]);
  optimizer.dispose();
  let positions = 0;
  for (let c = 0; c < batch.mask.length; c++) positions += batch.mask[c]!;
  return {
    batch: { users: batch.size, width: batch.length, positions, loss },
    ms,
    kernelsByOp: [...agg]
      .map(([op, a]) => ({ op, calls: a.calls, ms: a.ms }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 15),
    kernelCount: prof.kernels.length,
  };
}
