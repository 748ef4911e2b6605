import { Rng, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { resetDeadCodes } from './dead-codes.js';
import { MMRQVAE } from './mm-rqvae.js';

describeBackends('resetDeadCodes', () => {
  it('moves every code that no item uses onto a residual, where it wins items', async () => {
    const model = new MMRQVAE({
      modalities: [{ name: 'c', inputDim: 3 }],
      eDim: 3,
      hiddenLayers: [],
      levels: 1,
      codebookSize: 4,
      kmeansInit: false,
      sinkhornEpsilons: [],
    });
    const n = 40;
    const x = { rows: n, cols: 3, data: new Rng(2).fillNormal(new Float32Array(n * 3)) };
    // Codes far from every encoded item: only the nearest of them is chosen.
    const far = tf.tensor2d([
      [100, 0, 0],
      [0, 100, 0],
      [0, 0, 100],
      [-100, -100, -100],
    ]);
    model.branch('c').rq.vqLayers[0]!.codebook.assign(far);
    far.dispose();
    const before = new Set(await model.assign({ c: x }).then((ids) => ids.c!));
    const dead = [0, 1, 2, 3].filter((c) => !before.has(c));
    const moved = await resetDeadCodes(model, { c: x }, new Rng(3));
    const after = new Set(await model.assign({ c: x }).then((ids) => ids.c!));
    model.dispose();
    expect(dead.length).toBeGreaterThan(0);
    expect(moved.c).toEqual([dead.length]);
    // Each moved code sits on an item's residual (distance 0), far closer than the old codes at
    // distance ~100: the moved codes, and only they, are used now.
    expect([...after].sort()).toEqual(dead);
  });
});
