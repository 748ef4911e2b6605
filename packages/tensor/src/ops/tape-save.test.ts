import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { installSharedTapeSave, uninstallSharedTapeSave } from './tape-save.js';

// The kernel-free save of tape-save.ts against tfjs's cloning one: the same gradients (bit for
// bit), no Identity kernel per saved tensor, nothing left behind.

describeBackends('tape save without clone kernels', () => {
  it('gives the same gradients with fewer kernels and no leaks', async () => {
    const rng = new Rng(12);
    const w1 = tf.tidy(() =>
      tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(10 * 12), 0, 0.3), [10, 12])),
    );
    const w2 = tf.tidy(() =>
      tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(12 * 4), 0, 0.3), [12, 4])),
    );
    const x = tf.tensor2d(rng.fillNormal(new Float32Array(7 * 10), 0, 1), [7, 10]);
    const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2], 'int32');
    const step = () =>
      tf.variableGrads(() =>
        tf.tidy(() => {
          const h = tf.tanh(tf.matMul(x, w1));
          const logits = tf.matMul(tf.mul(h, tf.sigmoid(h)), w2);
          return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 4), logits) as tf.Scalar;
        }),
      );
    const run = async () => {
      let out: number[][] = [];
      const prof = await tf.profile(async () => {
        const { value, grads } = step();
        out = [await value.data(), await grads[w1.name]!.data(), await grads[w2.name]!.data()].map((a) =>
          Array.from(a),
        );
        tf.dispose([value, ...Object.values(grads)]);
      });
      return { out, identities: prof.kernels.filter((k) => k.name === 'Identity').length };
    };
    uninstallSharedTapeSave();
    const cloning = await run();
    expect(installSharedTapeSave()).toBe(true);
    const live = tf.memory().numTensors;
    const sharing = await run();
    expect(tf.memory().numTensors).toBe(live);
    expect(sharing.out).toEqual(cloning.out);
    // What remains are clones outside the tape's save (custom gradients' own save, variableGrads).
    expect(cloning.identities - sharing.identities).toBeGreaterThan(10);
    tf.dispose([w1, w2, x, y]);
  });
});
