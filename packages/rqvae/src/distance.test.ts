import { Rng, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { nearestCodes } from './distance.js';

describeBackends('nearestCodes', ({ backend }) => {
  it('finds the nearest code of every row, the same in one chunk and in many', async () => {
    const rng = new Rng(4);
    const [n, k, d] = [203, 17, 5];
    const xs = Float32Array.from({ length: n * d }, () => rng.float() * 2 - 1);
    const cs = Float32Array.from({ length: k * d }, () => rng.float() * 2 - 1);
    const x = tf.tensor2d(xs, [n, d]);
    const c = tf.tensor2d(cs, [k, d]);
    const whole = await nearestCodes(x, c);
    const chunked = await nearestCodes(x, c, 7);
    tf.dispose([x, c]);
    expect(Array.from(chunked.index)).toEqual(Array.from(whole.index));
    // Bit-equal on cpu and wasm; WebGPU's matmul may round a differently sized chunk differently.
    if (backend === 'webgpu')
      for (let i = 0; i < n; i++)
        expect(Math.abs(chunked.distance[i]! - whole.distance[i]!)).toBeLessThanOrEqual(1e-5);
    else expect(Array.from(chunked.distance)).toEqual(Array.from(whole.distance));
    for (let i = 0; i < n; i++) {
      const dist = (j: number) => {
        let s = 0;
        for (let t = 0; t < d; t++) s += (xs[i * d + t]! - cs[j * d + t]!) ** 2;
        return s;
      };
      let best = Number.POSITIVE_INFINITY;
      for (let j = 0; j < k; j++) best = Math.min(best, dist(j));
      expect(dist(whole.index[i]!) - best).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(whole.distance[i]! - best)).toBeLessThanOrEqual(1e-5);
    }
  });
});
