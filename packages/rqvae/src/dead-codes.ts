import { gatherRows, type Rng, tf } from '@mmesid/tensor';
import type { ModalityInputs } from './data.js';
import { nearestCodes } from './distance.js';
import type { MMRQVAE } from './mm-rqvae.js';

/**
 * Dead-code handling (optional; the authors do none): encodes all items, walks the levels of each
 * modality's quantiser, and moves every code that no item chooses (nearest code) onto a distinct
 * residual of that level drawn at random, so it starts winning items. Later levels see the
 * residuals after the moved codes. Returns, per modality, how many codes were moved at each level.
 *
 * The optimiser's moments for a moved code are left as they were; with the small learning rates
 * used here they fade within a few hundred steps.
 *
 * @example
 * const moved = await resetDeadCodes(model, { collaborative: table }, new Rng(1)); // { collaborative: [0, 3, 12, 40] }
 */
export async function resetDeadCodes(
  model: MMRQVAE,
  inputs: ModalityInputs,
  rng: Rng,
): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const name of model.modalities) {
    const rq = model.branch(name).rq;
    const moved: number[] = [];
    let residual = await model.encodeTensor(name, inputs[name]!);
    try {
      for (const vq of rq.vqLayers) {
        const k = vq.codebookSize;
        const cb = vq.codebook as unknown as tf.Tensor2D;
        let { index } = await nearestCodes(residual, cb);
        const used = new Uint8Array(k);
        for (const i of index) used[i] = 1;
        const dead: number[] = [];
        used.forEach((u, j) => {
          if (!u) dead.push(j);
        });
        const n = residual.shape[0];
        if (dead.length && n > 0) {
          const rows = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, dead.length);
          const take = dead.slice(0, rows.length);
          // Rows are replaced on the CPU: [K, eDim] is small and not every backend has a scatter kernel.
          const pickedT = tf.tidy(() => gatherRows(residual, tf.tensor1d(rows, 'int32')));
          const picked = (await pickedT.data()) as Float32Array;
          pickedT.dispose();
          const values = Float32Array.from((await cb.data()) as Float32Array);
          const d = vq.eDim;
          take.forEach((j, r) => {
            values.set(picked.subarray(r * d, (r + 1) * d), j * d);
          });
          const updated = tf.tensor2d(values, [k, d]);
          vq.codebook.assign(updated);
          updated.dispose();
          ({ index } = await nearestCodes(residual, vq.codebook as unknown as tf.Tensor2D));
          moved.push(take.length);
        } else {
          moved.push(0);
        }
        const next = tf.tidy(
          () =>
            tf.sub(
              residual,
              gatherRows(vq.codebook as unknown as tf.Tensor2D, tf.tensor1d(index, 'int32')),
            ) as tf.Tensor2D,
        );
        residual.dispose();
        residual = next;
      }
    } finally {
      residual.dispose();
    }
    out[name] = moved;
  }
  return out;
}
