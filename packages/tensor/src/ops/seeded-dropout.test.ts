import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { seededDropout } from './seeded-dropout.js';

describeBackends('seededDropout', () => {
  it('zeroes about p of the units, scales the rest by 1/(1-p), and repeats for the same seed', async () => {
    const x = tf.ones([4000]);
    const y1 = seededDropout(x, 0.3, new Rng(9));
    const y2 = seededDropout(x, 0.3, new Rng(9));
    const v = await y1.data();
    const kept = Array.from(v).filter((a) => a !== 0);
    expect(kept.every((a) => Math.abs(a - 1 / 0.7) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 4000 - 0.7)).toBeLessThan(0.03);
    expect(Array.from(await y2.data())).toEqual(Array.from(v));
    expect(seededDropout(x, 0.3, null)).toBe(x);
    expect(seededDropout(x, 0, new Rng(1))).toBe(x);
    tf.dispose([x, y1, y2]);
  });
});
