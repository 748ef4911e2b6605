import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { registerWasmIdentity, unregisterWasmIdentity } from './wasm-identity.js';

// The sharing Identity of wasm-identity.ts against tfjs's copying one: same values, same gradients
// (bit for bit), no buffer freed while a clone still reads it, no memory left behind.

/** Loss and gradients of a small two-layer net with a softmax cross-entropy (many saved tensors). */
function lossAndGrads(w1: tf.Variable, w2: tf.Variable, x: tf.Tensor2D, y: tf.Tensor1D) {
  return tf.variableGrads(() =>
    tf.tidy(() => {
      const h = tf.relu(tf.matMul(x, w1));
      const logits = tf.matMul(tf.mul(h, tf.sigmoid(h)), w2);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 5), logits) as tf.Scalar;
    }),
  );
}

describeBackends(
  'wasm Identity without the copy',
  () => {
    it('clone shares the buffer and keeps it alive after the source is disposed', async () => {
      expect(registerWasmIdentity()).toBe(true);
      const buffers = () => (tf.memory() as { numDataBuffers: number }).numDataBuffers;
      const before = buffers();
      const a = tf.tensor2d([1, 2, 3, 4.5], [2, 2]);
      const c = tf.clone(a);
      expect(c.dataId).toBe(a.dataId);
      expect(buffers() - before).toBe(1); // one buffer, not two
      a.dispose();
      expect(Array.from(await c.data())).toEqual([1, 2, 3, 4.5]);
      const same = tf.cast(c, 'float32');
      expect(same.dataId).toBe(c.dataId);
      const ints = tf.cast(c, 'int32');
      expect(Array.from(await ints.data())).toEqual([1, 2, 3, 4]);
      tf.dispose([same, ints]);
      c.dispose();
      expect(buffers()).toBe(before);
      const s = tf.tensor1d(['x', 'yz'], 'string');
      const sc = tf.clone(s);
      expect(await sc.data()).toEqual(await s.data());
      tf.dispose([s, sc]);
    });

    it('gives the same loss and gradients (bit for bit) as the copying kernel', async () => {
      const rng = new Rng(5);
      const w1 = tf.tidy(() =>
        tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(12 * 16), 0, 0.3), [12, 16])),
      );
      const w2 = tf.tidy(() =>
        tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(16 * 5), 0, 0.3), [16, 5])),
      );
      const x = tf.tensor2d(rng.fillNormal(new Float32Array(9 * 12), 0, 1), [9, 12]);
      const y = tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2, 3], 'int32');
      const run = async () => {
        const { value, grads } = lossAndGrads(w1, w2, x, y);
        const out = [await value.data(), await grads[w1.name]!.data(), await grads[w2.name]!.data()];
        tf.dispose([value, ...Object.values(grads)]);
        return out.map((a) => Array.from(a));
      };
      unregisterWasmIdentity();
      const copying = await run();
      registerWasmIdentity();
      const sharing = await run();
      expect(sharing).toEqual(copying);
      // A variable assigned after being cloned: the clone keeps the old values.
      const old = tf.clone(w1);
      const first = (await w1.data())[0]!;
      tf.tidy(() => w1.assign(tf.zerosLike(w1)));
      expect((await old.data())[0]).toBe(first);
      expect((await w1.data())[0]).toBe(0);
      tf.dispose([w1, w2, x, y, old]);
    });
  },
  { only: ['wasm'] },
);
