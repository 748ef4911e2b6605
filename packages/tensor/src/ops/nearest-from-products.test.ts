import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import {
  NEAREST_FROM_PRODUCTS,
  nearestFromProducts,
  nearestFromProductsComposite,
} from './nearest-from-products.js';

describeBackends('nearestFromProducts', ({ backend }) => {
  it('equals the composite (same indices, same float32 distances) on random shapes, ties included', async () => {
    const rng = new Rng(23);
    for (const [n, k, d, grid] of [
      [1, 1, 1, false],
      [5, 3, 2, true], // few distinct values: ties between codes and distances clamped at 0
      [300, 256, 16, false],
      [1000, 64, 8, true],
      [777, 257, 33, false],
    ] as const) {
      const draw = () => (grid ? rng.int(3) - 1 : rng.float() * 4 - 2);
      const x = tf.tensor2d(Float32Array.from({ length: n * d }, draw), [n, d]);
      const c = tf.tensor2d(Float32Array.from({ length: k * d }, draw), [k, d]);
      const xe = tf.matMul(x, c, false, true) as tf.Tensor2D;
      const xx = tf.tidy(() => tf.sum(tf.square(x), 1) as tf.Tensor1D);
      const ee = tf.tidy(() => tf.sum(tf.square(c), 1) as tf.Tensor1D);
      const fast = nearestFromProducts(xe, xx, ee);
      const slow = nearestFromProductsComposite(xe, xx, ee);
      const [fi, fd, si, sd] = await Promise.all([
        fast.index.data(),
        fast.distance.data(),
        slow.index.data(),
        slow.distance.data(),
      ]);
      expect(fast.index.dtype).toBe('int32');
      expect(Array.from(fi), `indices, [${n}, ${k}]`).toEqual(Array.from(si));
      if (backend === 'webgpu') {
        for (let i = 0; i < n; i++)
          expect(Math.abs(fd[i]! - sd[i]!)).toBeLessThanOrEqual(1e-5 * (1 + sd[i]!));
      } else {
        expect(Array.from(fd), `distances, [${n}, ${k}]`).toEqual(Array.from(sd));
      }
      // Independent check: the index minimises the float64 squared distance up to float32 rounding.
      const [xv, cv] = [await x.data(), await c.data()];
      for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 50))) {
        const dist = (j: number) => {
          let s = 0;
          for (let t = 0; t < d; t++) s += (xv[i * d + t]! - cv[j * d + t]!) ** 2;
          return s;
        };
        let best = Number.POSITIVE_INFINITY;
        for (let j = 0; j < k; j++) best = Math.min(best, dist(j));
        expect(dist(fi[i]!) - best).toBeLessThanOrEqual(1e-4 * (1 + best));
      }
      tf.dispose([x, c, xe, xx, ee, fast.index, fast.distance, slow.index, slow.distance]);
    }
  });

  it('runs as one kernel on cpu and wasm and checks its shapes', async () => {
    const xe = tf.zeros([2, 3]) as tf.Tensor2D;
    const xx = tf.zeros([2]) as tf.Tensor1D;
    const ee = tf.zeros([3]) as tf.Tensor1D;
    if (backend !== 'webgpu') expect(tf.getKernel(NEAREST_FROM_PRODUCTS, tf.getBackend())).toBeDefined();
    expect(() => nearestFromProducts(xe, ee, ee)).toThrow(RangeError);
    const r = nearestFromProducts(xe, xx, ee);
    expect(Array.from(await r.index.data())).toEqual([0, 0]);
    tf.dispose([xe, xx, ee, r.index, r.distance]);
  });
});
