import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { callChild } from './call-child.js';
import { MmesidError, StateDictError } from './errors.js';
import { Linear } from './layers/linear.js';
import { MLP } from './layers/mlp.js';
import { LayerNorm } from './layers/norm.js';
import { Module } from './module.js';
import { ModuleList } from './module-list.js';
import { tf } from './tf.js';

class Block extends Module {
  proj: Linear;
  norm: LayerNorm;
  constructor(rng: Rng) {
    super();
    this.proj = this.setModule('proj', new Linear(4, 3, { rng }));
    this.norm = this.setModule('norm', new LayerNorm(3));
  }
}

describeBackends('Module', () => {
  it('names parameters with dotted paths and counts them', async () => {
    const m = new Block(new Rng(0));
    expect([...m.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ['proj.weight', [3, 4]],
      ['proj.bias', [3]],
      ['norm.weight', [3]],
      ['norm.bias', [3]],
    ]);
    expect(m.numParameters()).toBe(12 + 3 + 3 + 3);
    m.norm.setTrainable(false);
    expect([...m.trainableParameters().keys()]).toEqual(['proj.weight', 'proj.bias']);
    expect(m.numParameters(true)).toBe(15);
    m.dispose();
  });

  it('round-trips a state dict and assigns nothing when a check fails', async () => {
    const a = new Block(new Rng(1));
    const b = new Block(new Rng(2));
    b.loadStateDict(a.stateDict());
    expect(await b.proj.weight.array()).toEqual(await a.proj.weight.array());

    const before = await b.proj.bias!.array();
    const bad = { ...a.stateDict(), 'proj.bias': tf.zeros([5]) };
    delete (bad as Record<string, tf.Tensor>)['norm.weight'];
    (bad as Record<string, tf.Tensor>)['extra.weight'] = tf.zeros([1]);
    let err: unknown;
    try {
      b.loadStateDict(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const msg = (err as Error).message;
    expect(msg).toContain('missing keys (1): norm.weight');
    expect(msg).toContain('unexpected keys (1): extra.weight');
    expect(msg).toContain('proj.bias expected [3] got [5]');
    expect(await b.proj.bias!.array()).toEqual(before);
    // Non-strict loading tolerates missing/unexpected keys but never a shape mismatch.
    const partial = { 'proj.weight': tf.ones([3, 4]), other: tf.zeros([2]) };
    expect(b.loadStateDict(partial, { strict: false })).toEqual({
      missing: ['proj.bias', 'norm.weight', 'norm.bias'],
      unexpected: ['other'],
    });
    expect(await b.proj.weight.array()).toEqual([
      [1, 1, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ]);
    for (const t of [
      bad['proj.bias']!,
      (bad as Record<string, tf.Tensor>)['extra.weight']!,
      ...Object.values(partial),
    ])
      t.dispose();
    a.dispose();
    b.dispose();
  });

  it('finds and replaces submodules by path and switches train/eval recursively', async () => {
    const mlp = new MLP([4, 8, 2], { rng: new Rng(3) });
    expect(mlp.getModule('layers.1')).toBe(mlp.layers[1]);
    const replacement = new Linear(8, 2, { rng: new Rng(4) });
    const old = mlp.replaceModule('layers.1', replacement);
    expect(old).toBe(mlp.layers[1]);
    expect(mlp.getModule('layers.1')).toBe(replacement);
    expect([...mlp.namedModules()].map(([n]) => n)).toEqual(['', 'layers', 'layers.0', 'layers.1']);
    mlp.eval();
    expect([...mlp.namedModules()].every(([, m]) => !m.training)).toBe(true);
    old.dispose();
    mlp.dispose();
  });

  it('frees every variable on dispose', async () => {
    const n0 = tf.memory().numTensors;
    const m = new Block(new Rng(5));
    expect(tf.memory().numTensors).toBe(n0 + 4);
    m.dispose();
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('setModule registers (replacing without disposing) and returns the new module; bad names and paths throw MmesidError', async () => {
    const parent = new Module();
    const a = new Linear(2, 2, { rng: new Rng(1) });
    const b = new Linear(2, 2, { rng: new Rng(2) });
    expect(parent.setModule('proj', a)).toBe(a);
    expect(parent.setModule('proj', b)).toBe(b);
    expect(parent.childModule('proj')).toBe(b);
    expect(a.namedParameters().next().value![1].isDisposed).toBe(false); // replaced, not disposed
    expect(() => parent.setModule('a.b', a)).toThrow(MmesidError);
    expect(() => parent.setModule('', a)).toThrow(/must be non-empty/);
    expect(() => parent.replaceModule('nope', a)).toThrow(MmesidError);
    a.dispose();
    b.dispose();
  });

  it('ModuleList names children 0..n-1 and callChild runs whatever is registered at call time', async () => {
    const list = new ModuleList([
      new Linear(2, 2, { rng: new Rng(1) }),
      new Linear(2, 2, { rng: new Rng(2) }),
    ]);
    expect([...list.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(() => list.at(2)).toThrow(RangeError);
    const x = tf.tensor2d([[1, 2]]);
    const swapped = new Linear(2, 2, { rng: new Rng(3) });
    const old = list.replaceModule('1', swapped);
    const viaCall = callChild(list, '1', x);
    const direct = swapped.forward(x);
    expect(Array.from(await viaCall.data())).toEqual(Array.from(await direct.data()));
    expect(() => callChild(list, '7', x)).toThrow(/no submodule "7"/);
    tf.dispose([x, viaCall, direct]);
    old.dispose();
    list.dispose();
  });
});
