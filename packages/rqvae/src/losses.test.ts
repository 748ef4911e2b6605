import { Rng, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { alignmentLoss } from './alignment.js';
import { infoNce } from './infonce.js';
import { reconstructionLoss } from './reconstruction.js';
import { sinkhornAssign } from './sinkhorn.js';

function randn(rows: number, cols: number, seed: number): tf.Tensor2D {
  return tf.tensor2d(new Rng(seed).fillNormal(new Float32Array(rows * cols)), [rows, cols]);
}

async function scalar(t: tf.Tensor): Promise<number> {
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}

describeBackends('losses', ({ tol }) => {
  it('MMD of a sample with itself is 0 (biased estimator) and positive for a shifted sample', async () => {
    const x = randn(16, 4, 1);
    const shifted = tf.add(x, 1) as tf.Tensor2D;
    expect(
      Math.abs(await scalar(reconstructionLoss(x, x, { kind: 'mmd', alpha: 0.5, estimator: 'biased' }))),
    ).toBeLessThan(10 * tol);
    expect(
      await scalar(reconstructionLoss(shifted, x, { kind: 'mmd', alpha: 0.5, estimator: 'biased' })),
    ).toBeGreaterThan(0.05);
    // The unbiased estimator (the authors' gradient) ranks them the same way.
    const same = await scalar(reconstructionLoss(x, x, { kind: 'mmd', alpha: 0.5 }));
    const apart = await scalar(reconstructionLoss(shifted, x, { kind: 'mmd', alpha: 0.5 }));
    expect(apart).toBeGreaterThan(same + 0.05);
    expect(await scalar(reconstructionLoss(x, x, { kind: 'mse', alpha: 0.5 }))).toBe(0);
    tf.dispose([x, shifted]);
  });

  it('gives the MMD gradient to the reconstruction only, not to the target', async () => {
    const x0 = randn(8, 3, 2);
    const y0 = randn(8, 3, 3);
    const x = tf.variable(x0);
    const y = tf.variable(y0);
    tf.dispose([x0, y0]);
    const { value, grads } = tf.variableGrads(
      () =>
        reconstructionLoss(x as unknown as tf.Tensor2D, y as unknown as tf.Tensor2D, {
          kind: 'mmd',
          alpha: 0.5,
        }),
      [x, y],
    );
    const gx = tf.norm(grads[x.name]!);
    const gy = grads[y.name] ? tf.norm(grads[y.name]!) : tf.scalar(0);
    expect(await scalar(gx)).toBeGreaterThan(1e-4);
    expect(await scalar(gy)).toBe(0);
    tf.dispose([value, ...Object.values(grads), x, y]);
  });

  it('InfoNCE with aligned pairs is lower than with shuffled pairs', async () => {
    const a = randn(12, 6, 4);
    const noise = randn(12, 6, 5);
    const b = tf.tidy(() => tf.add(a, tf.mul(noise, 0.1)) as tf.Tensor2D);
    const perm = tf.tensor1d([3, 7, 1, 0, 11, 5, 9, 2, 10, 4, 8, 6], 'int32');
    const shuffled = tf.gather(b, perm) as tf.Tensor2D;
    const aligned = await scalar(infoNce(a, b, 0.1));
    const mixed = await scalar(infoNce(a, shuffled, 0.1));
    expect(aligned).toBeLessThan(mixed);
    expect(aligned).toBeLessThan(0.5);
    expect(mixed).toBeGreaterThan(Math.log(12) - 1);
    // Symmetric: swapping the two sides gives the same loss.
    expect(Math.abs((await scalar(infoNce(b, a, 0.1))) - aligned)).toBeLessThan(1e-4);
    const viaAlignment = await scalar(alignmentLoss(a, b, { kind: 'infonce', temperature: 0.1, alpha: 0.5 }));
    expect(Math.abs(viaAlignment - aligned)).toBeLessThan(1e-5);
    tf.dispose([a, noise, b, perm, shuffled]);
  });

  it('Sinkhorn balances the assignment of a skewed toy that argmin puts on one code', async () => {
    // 64 points, all closest to code 0; codes 1..3 a little farther, in different directions.
    const rng = new Rng(6);
    const pts: number[] = [];
    for (let i = 0; i < 64; i++) pts.push(rng.normal(0, 0.3), rng.normal(0, 0.3));
    const x = tf.tensor2d(pts, [64, 2]);
    const codes = tf.tensor2d([
      [0, 0],
      [3, 0],
      [0, 3],
      [-3, -3],
    ]);
    const d = tf.tidy(() => {
      const diff = tf.sub(tf.expandDims(x, 1), tf.expandDims(codes, 0));
      return tf.sum(tf.square(diff), 2) as tf.Tensor2D;
    });
    const greedy = tf.argMin(d, 1);
    const count = (v: ArrayLike<number>) => {
      const c = [0, 0, 0, 0];
      for (let i = 0; i < v.length; i++) c[v[i]!]!++;
      return c;
    };
    expect(count(await greedy.data())[0]).toBe(64);
    // The authors' epsilon; Sinkhorn converges slowly at so small an epsilon: 50 iterations (their
    // setting) already spread the points, 200 balance them to within 2 (16 each is exact balance).
    const early = sinkhornAssign(d, { epsilon: 0.003, iters: 50 });
    const c50 = count(await early.data());
    expect(Math.max(...c50)).toBeLessThanOrEqual(24);
    expect(Math.min(...c50)).toBeGreaterThanOrEqual(4);
    const balanced = sinkhornAssign(d, { epsilon: 0.003, iters: 200 });
    const c = count(await balanced.data());
    expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(2);
    tf.dispose([x, codes, d, greedy, early, balanced]);
  });
});
