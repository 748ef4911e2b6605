import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { StateDictError } from '../errors.js';
import { Linear } from '../layers/linear.js';
import { tf } from '../tf.js';
import { AdamW } from './adamw.js';
import { clipGradNorm } from './clip.js';
import adamwFixture from './fixtures/adamw.json';
import { warmupCosineSchedule, warmupLinearSchedule } from './schedule.js';
import { Trainer } from './trainer.js';

const fixture = adamwFixture as {
  betas: [number, number];
  eps: number;
  weight_decay: number;
  p0: number[];
  shape: number[];
  grads: number[][];
  lrs: number[];
  expected_after_each_step: number[][];
};

describeBackends('AdamW / clipping / Trainer', ({ backend }) => {
  it('matches the PyTorch AdamW update (fixtures/make_adamw.py) to 1e-6', async () => {
    const p0 = tf.tensor(fixture.p0, fixture.shape);
    const p = tf.variable(p0);
    p0.dispose();
    const opt = new AdamW(new Map([['p', p]]), {
      betas: fixture.betas,
      eps: fixture.eps,
      weightDecay: fixture.weight_decay,
    });
    // float32 arithmetic on values of order 1: 1e-6 holds on cpu/wasm; WebGPU's sqrt/div may differ by a few ulp more.
    const tolerance = backend === 'webgpu' ? 5e-6 : 1e-6;
    for (const [i, g] of fixture.grads.entries()) {
      const gt = tf.tensor(g, fixture.shape);
      opt.step(new Map([['p', gt]]), fixture.lrs[i]);
      gt.dispose();
      expect(maxAbsDiff(await p.data(), fixture.expected_after_each_step[i]!)).toBeLessThan(tolerance);
    }
    opt.dispose();
    p.dispose();
  });

  it('clips by global norm like clip_grad_norm_', async () => {
    const g = new Map([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor1d([0, 4])],
    ]);
    const { grads, norm } = clipGradNorm(g, 1);
    expect((await norm.data())[0]).toBeCloseTo(5, 5);
    expect(maxAbsDiff(await grads.get('a')!.data(), [3 / (5 + 1e-6), 0])).toBeLessThan(1e-6);
    const loose = clipGradNorm(g, 10);
    expect(Array.from(await loose.grads.get('b')!.data())).toEqual([0, 4]);
    tf.dispose([...g.values(), ...grads.values(), ...loose.grads.values(), norm, loose.norm]);
  });

  it('accumulating two half-batches equals one step on the full batch, and leaks nothing', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [0, 1],
      [-1, 3],
      [2, 2],
    ]);
    const t = tf.tensor2d([[1], [0], [2], [-1]]);
    const make = () => new Linear(2, 1, { rng: new Rng(11) });
    const mse = (lin: Linear, xs: tf.Tensor, ts: tf.Tensor) => () =>
      tf.mean(tf.square(tf.sub(lin.forward(xs), ts))) as tf.Scalar;

    const full = make();
    const tFull = new Trainer({
      optimizer: new AdamW(full.trainableParameters(), { lr: 0.1, weightDecay: 0.01 }),
    });
    await tFull.step(mse(full, x, t));

    const acc = make();
    const tAcc = new Trainer({
      optimizer: new AdamW(acc.trainableParameters(), { lr: 0.1, weightDecay: 0.01 }),
      accumulationSteps: 2,
    });
    const [x1, x2] = tf.split(x, 2);
    const [t1, t2] = tf.split(t, 2);
    const r1 = await tAcc.step(mse(acc, x1!, t1!));
    expect(r1.applied).toBe(false);
    const r2 = await tAcc.step(mse(acc, x2!, t2!));
    expect(r2.applied).toBe(true);
    const n0 = tf.memory().numTensors;
    expect(maxAbsDiff(await acc.weight.data(), await full.weight.data())).toBeLessThan(1e-5);
    expect(maxAbsDiff(await acc.bias!.data(), await full.bias!.data())).toBeLessThan(1e-5);
    // Steady state: further steps keep the tensor count constant (moments already exist).
    for (let i = 0; i < 4; i++) await tAcc.step(mse(acc, x1!, t1!));
    expect(tf.memory().numTensors).toBe(n0);
    tFull.dispose();
    tAcc.dispose();
    (tFull as unknown as { opts: { optimizer: AdamW } }).opts.optimizer.dispose();
    (tAcc as unknown as { opts: { optimizer: AdamW } }).opts.optimizer.dispose();
    full.dispose();
    acc.dispose();
    tf.dispose([x, t, x1!, x2!, t1!, t2!]);
  });

  it('lowers a loss with a schedule and clipping', async () => {
    const lin = new Linear(2, 1, { rng: new Rng(12) });
    const opt = new AdamW(lin.trainableParameters(), { lr: 0.05, weightDecay: 0 });
    const trainer = new Trainer({ optimizer: opt, clipNorm: 1, schedule: warmupCosineSchedule(5, 100) });
    const x = tf.tensor2d([
      [1, 2],
      [0, 1],
      [-1, 3],
    ]);
    const t = tf.tensor2d([[3], [1], [2]]);
    const loss = () => tf.mean(tf.square(tf.sub(lin.forward(x), t))) as tf.Scalar;
    const first = (await trainer.step(loss)).loss;
    let last = first;
    for (let i = 0; i < 99; i++) last = (await trainer.step(loss)).loss;
    expect(last).toBeLessThan(first * 0.2);
    opt.dispose();
    lin.dispose();
    tf.dispose([x, t]);
  });
});

describe('schedules', () => {
  it('warm-up + cosine follows the Hugging Face formula', async () => {
    const s = warmupCosineSchedule(10, 110);
    expect(s(0)).toBe(0);
    expect(s(5)).toBeCloseTo(0.5, 12);
    expect(s(10)).toBeCloseTo(1, 12);
    expect(s(60)).toBeCloseTo(0.5, 12);
    expect(s(110)).toBeCloseTo(0, 12);
    expect(s(35)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.25)), 12);
  });
  it('warm-up + linear decays to zero', async () => {
    const s = warmupLinearSchedule(4, 12);
    expect(s(2)).toBe(0.5);
    expect(s(8)).toBe(0.5);
    expect(s(12)).toBe(0);
  });
});

describeBackends('AdamW state', () => {
  it('round-trips its moments through stateDict/loadStateDict without leaking', async () => {
    const p0 = tf.tensor1d([1, 2, 3]);
    const p = tf.variable(p0);
    const q = tf.variable(p0);
    p0.dispose();
    const a = new AdamW(new Map([['p', p]]), { lr: 0.1 });
    const g = tf.tensor1d([0.5, -1, 2]);
    a.step(new Map([['p', g]]));
    const b = new AdamW(new Map([['p', q]]), { lr: 0.1 });
    const before = tf.memory().numTensors;
    b.loadStateDict(a.stateDict());
    expect(tf.memory().numTensors).toBe(before + 2);
    // The same next step from the same state: identical parameters (q starts where p started).
    q.assign(p);
    a.step(new Map([['p', g]]));
    b.step(new Map([['p', g]]));
    expect(Array.from(await q.data())).toEqual(Array.from(await p.data()));
    a.dispose();
    b.dispose();
    tf.dispose([p, q, g]);
  });

  it('refuses missing, unexpected and mis-shaped moments, and saves zero moments for a parameter without gradients yet', async () => {
    const [p0, q0] = [tf.tensor1d([1, 2, 3]), tf.tensor2d([[1, 2]])];
    const p: tf.Variable = tf.variable(p0);
    const q: tf.Variable = tf.variable(q0);
    tf.dispose([p0, q0]);
    const a = new AdamW(
      new Map([
        ['p', p],
        ['q', q],
      ]),
      { lr: 0.1 },
    );
    const g = tf.tensor1d([0.5, -1, 2]);
    a.step(new Map([['p', g]])); // q has no gradient: no moments yet
    const sd = a.stateDict();
    expect(Object.keys(sd.tensors).sort()).toEqual([
      'p.exp_avg',
      'p.exp_avg_sq',
      'q.exp_avg',
      'q.exp_avg_sq',
    ]);
    expect(Array.from(await sd.tensors['q.exp_avg']!.data())).toEqual([0, 0]);
    const b = new AdamW(
      new Map([
        ['p', p],
        ['q', q],
      ]),
    );
    const { 'q.exp_avg_sq': _dropped, ...partial } = sd.tensors;
    expect(() => b.loadStateDict({ step: 1, tensors: partial })).toThrow(StateDictError);
    expect(() => b.loadStateDict({ step: 1, tensors: partial })).toThrow(/missing keys \(1\): q\.exp_avg_sq/);
    const wrong = tf.zeros([3]);
    expect(() =>
      b.loadStateDict({ step: 1, tensors: { ...sd.tensors, 'q.exp_avg': wrong } }, 'ckpt'),
    ).toThrow(/^ckpt: shape mismatches \(1\): q\.exp_avg expected \[1,2\] got \[3\]/);
    expect(() => b.loadStateDict({ step: 1, tensors: { ...sd.tensors, 'r.exp_avg': wrong } })).toThrow(
      /unexpected keys \(1\): r\.exp_avg/,
    );
    expect(b.stepCount).toBe(0); // nothing was changed by the refused loads
    a.dispose();
    b.dispose();
    tf.dispose([p, q, g, wrong]);
  });
});
