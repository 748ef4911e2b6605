import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { gelu, geluTanh, quickGelu, silu } from './activations.js';
import { Dropout } from './dropout.js';
import { Embedding } from './embedding.js';
import { Linear } from './linear.js';
import { MLP } from './mlp.js';
import { LayerNorm, RMSNorm } from './norm.js';

describeBackends('layers', ({ tol }) => {
  it('Linear computes x W^T + b over any leading dims', async () => {
    const lin = new Linear(3, 2, { rng: new Rng(0) });
    tf.tidy(() => {
      lin.weight.assign(
        tf.tensor2d([
          [1, 2, 3],
          [-1, 0, 0.5],
        ]),
      );
      lin.bias!.assign(tf.tensor1d([0.5, -2]));
    });
    const x = tf.tensor3d([
      [
        [1, 1, 1],
        [2, 0, -1],
      ],
    ]);
    const y = lin.forward(x);
    expect(y.shape).toEqual([1, 2, 2]);
    // Rows by hand: [1+2+3+0.5, -1+0.5-2] and [2-3+0.5, -2-0.5-2].
    expect(maxAbsDiff(await y.data(), [6.5, -2.5, -0.5, -4.5])).toBeLessThan(tol);
    tf.dispose([x, y]);
    lin.dispose();
  });

  it('Linear default init matches PyTorch bounds (kaiming-uniform a=sqrt5: |w| <= 1/sqrt(in))', async () => {
    const lin = new Linear(64, 32, { rng: new Rng(1) });
    const w = await lin.weight.data();
    const bound = 1 / 8;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(() => new Linear(2, 2)).toThrow(/rng/);
    lin.dispose();
  });

  it('Embedding looks rows up and gives the padding row no gradient', async () => {
    const emb = new Embedding(5, 3, { paddingIdx: 0, rng: new Rng(2) });
    expect(Array.from((await emb.weight.data()).slice(0, 3))).toEqual([0, 0, 0]);
    tf.tidy(() =>
      emb.weight.assign(
        tf.tensor2d([
          [9, 9, 9],
          [1, 2, 3],
          [4, 5, 6],
          [0, 0, 1],
          [7, 7, 7],
        ]),
      ),
    );
    const ids = tf.tensor2d(
      [
        [0, 2],
        [1, 0],
      ],
      undefined,
      'int32',
    );
    const out = emb.forward(ids);
    expect(out.shape).toEqual([2, 2, 3]);
    expect(Array.from(await out.data())).toEqual([9, 9, 9, 4, 5, 6, 1, 2, 3, 9, 9, 9]);
    const { value, grads } = tf.variableGrads(() => tf.sum(emb.forward(ids)) as tf.Scalar, [emb.weight]);
    value.dispose();
    const g = grads[emb.weight.name]!;
    expect(Array.from(await g.data())).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    tf.dispose([ids, out, g]);
    emb.dispose();
  });

  it('LayerNorm and RMSNorm match their formulas', async () => {
    const x = tf.tensor2d([
      [1, 2, 3, 4],
      [-2, 0, 2, 8],
    ]);
    const ln = new LayerNorm(4);
    const y = ln.forward(x);
    const rows = (await y.array()) as number[][];
    for (const r of rows) {
      const mean = r.reduce((a, b) => a + b) / 4;
      const v = r.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(v - 1)).toBeLessThan(1e-4);
    }
    const rms = new RMSNorm(4, 1e-6);
    tf.tidy(() => rms.weight.assign(tf.tensor1d([1, 2, 1, 0.5])));
    const zt = rms.forward(x);
    const z = await zt.data();
    zt.dispose();
    const r0 = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-6);
    expect(maxAbsDiff(z.slice(0, 4), [1 / r0, 4 / r0, 3 / r0, 2 / r0])).toBeLessThan(tol);
    tf.dispose([x, y]);
    ln.dispose();
    rms.dispose();
  });

  it('activations match closed forms', async () => {
    const x = tf.tensor1d([-2, -0.5, 0, 1, 3]);
    const read = async (f: (t: tf.Tensor) => tf.Tensor) => {
      const y = f(x);
      const v = await y.data();
      y.dispose();
      return v;
    };
    // Reference values from scipy: x * norm.cdf(x).
    const exact = [-0.04550026389635842, -0.15426876936299344, 0, 0.8413447460685429, 2.995950054170463];
    expect(maxAbsDiff(await read(gelu), exact)).toBeLessThan(1e-4 + tol);
    expect(maxAbsDiff(await read(geluTanh), exact)).toBeLessThan(2e-3);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const xs = [-2, -0.5, 0, 1, 3];
    expect(
      maxAbsDiff(
        await read(silu),
        xs.map((v) => v * sig(v)),
      ),
    ).toBeLessThan(tol * 10);
    expect(
      maxAbsDiff(
        await read(quickGelu),
        xs.map((v) => v * sig(1.702 * v)),
      ),
    ).toBeLessThan(tol * 10);
    x.dispose();
  });

  it('Dropout is the identity in eval and scales kept units by 1/(1-p) in training', async () => {
    const d = new Dropout(0.5, new Rng(3));
    const x = tf.ones([1000]);
    d.eval();
    expect(d.forward(x)).toBe(x);
    d.train();
    const y = d.forward(x);
    const v = await y.data();
    const kept = v.filter((a) => a !== 0);
    expect(kept.every((a) => Math.abs(a - 2) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length - 500)).toBeLessThan(80);
    tf.dispose([x, y]);
  });

  it('MLP maps through its layers with activations', async () => {
    const mlp = new MLP([3, 4, 2], { rng: new Rng(4), activation: 'relu' });
    const x = tf.tensor2d([[1, -1, 0.5]]);
    const y = mlp.forward(x);
    const ref = tf.tidy(() => mlp.layers[1]!.forward(tf.relu(mlp.layers[0]!.forward(x))));
    expect(maxAbsDiff(await y.data(), await ref.data())).toBeLessThan(tol);
    tf.dispose([x, y, ref]);
    mlp.dispose();
  });
});

describeBackends('tf.matMul with transpose flags', ({ tol }) => {
  it('equals the untransposed product for every transpose combination, and so do its gradients', async () => {
    const matMul = tf.matMul;
    const a = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1);
    const b = tf.randomNormal([2, 4, 5], 0, 1, 'float32', 2);
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const [ours, ref, gA, gB, wantA, wantB] = tf.tidy(() => {
        const A = ta ? tf.transpose(a, [0, 2, 1]) : a;
        const B = tb ? tf.transpose(b, [0, 2, 1]) : b;
        // Gradient of sum(A B * W) w.r.t. A and B, against the closed form dA = W B^T, dB = A^T W.
        const w = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 3);
        const [gA, gB] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x, y, ta, tb), w)))([
          A,
          B,
        ]);
        const dA = tf.matMul(w, tf.transpose(b, [0, 2, 1]));
        const dB = tf.matMul(tf.transpose(a, [0, 2, 1]), w);
        return [
          matMul(A, B, ta, tb),
          tf.matMul(a, b),
          gA!,
          gB!,
          ta ? tf.transpose(dA, [0, 2, 1]) : dA,
          tb ? tf.transpose(dB, [0, 2, 1]) : dB,
        ];
      });
      expect(maxAbsDiff(await ours!.data(), await ref!.data())).toBeLessThan(tol * 10);
      expect(maxAbsDiff(await gA!.data(), await wantA!.data())).toBeLessThan(tol * 10);
      expect(maxAbsDiff(await gB!.data(), await wantB!.data())).toBeLessThan(tol * 10);
      tf.dispose([ours!, ref!, gA!, gB!, wantA!, wantB!]);
    }
    tf.dispose([a, b]);
  });
});
