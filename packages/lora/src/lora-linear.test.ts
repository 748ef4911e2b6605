import { Linear, MLP, Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { toyInput } from './__fixtures__/toy-llama.js';
import { LoraLinear } from './lora-linear.js';

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describeBackends('LoraLinear', ({ tol }) => {
  it('computes exactly the base output at init (B = 0) and keeps A within the kaiming bound', async () => {
    const base = new Linear(16, 6, { rng: new Rng(1) });
    const x = toyInput([3, 16]);
    const before = await values(base.forward(x));
    const lora = new LoraLinear(base, { r: 4, scaling: 2, dropout: 0, rng: new Rng(2) });
    expect(lora.loraA.weight.shape).toEqual([4, 16]);
    expect(lora.loraB.weight.shape).toEqual([6, 4]);
    expect(Array.from(await lora.loraB.weight.data()).every((v) => v === 0)).toBe(true);
    const a = await lora.loraA.weight.data();
    // PEFT: kaiming_uniform_(a = sqrt 5) -> U(-1/sqrt(in), 1/sqrt(in)).
    expect(Math.max(...Array.from(a, Math.abs))).toBeLessThanOrEqual(1 / 4);
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(0.8 / 4);
    const after = await values(lora.forward(x));
    expect(maxAbsDiff(after, before)).toBe(0);
    expect([...lora.namedParameters()].map(([n, p]) => [n, p.trainable])).toEqual([
      ['base_layer.weight', false],
      ['base_layer.bias', false],
      ['lora_A.weight', true],
      ['lora_B.weight', true],
    ]);
    x.dispose();
    lora.dispose();
  });

  it('adds scaling * B A x, and merged output equals unmerged; unmerge restores W', async () => {
    const base = new Linear(5, 3, { rng: new Rng(3) });
    const lora = new LoraLinear(base, { r: 2, scaling: 1.5, dropout: 0, rng: new Rng(4) });
    tf.tidy(() => {
      lora.loraA.weight.assign(
        tf.tensor2d([
          [1, 0, -1, 0.5, 0],
          [0, 2, 0, 0, -1],
        ]),
      );
      lora.loraB.weight.assign(
        tf.tensor2d([
          [1, 0],
          [0, 1],
          [1, -1],
        ]),
      );
    });
    const x = tf.tensor2d([[1, 2, 3, 4, 5]]);
    const y0 = await values(Linear.prototype.forward.call(base, x));
    // A x = [1 - 3 + 2, 4 - 5] = [0, -1]; B A x = [0, -1, 1]; times 1.5.
    const y = await values(lora.forward(x));
    expect(maxAbsDiff(y, [y0[0]! + 0, y0[1]! - 1.5, y0[2]! + 1.5])).toBeLessThan(tol * 10);
    const w0 = await base.weight.data();
    lora.merge();
    expect(lora.merged).toBe(true);
    const merged = await values(lora.forward(x));
    expect(maxAbsDiff(merged, y)).toBeLessThan(tol * 10);
    const w1 = await base.weight.data();
    expect(maxAbsDiff(w1, w0)).toBeGreaterThan(1);
    lora.merge(); // idempotent
    expect(maxAbsDiff(await base.weight.data(), w1)).toBe(0);
    lora.unmerge();
    expect(lora.merged).toBe(false);
    expect(maxAbsDiff(await base.weight.data(), w0)).toBeLessThan(1e-6);
    x.dispose();
    lora.dispose();
  });

  it('applies inverted dropout to the adapter input in training mode only', async () => {
    // W = 0, A = B = I, scaling 1: the output is exactly dropout(x).
    const base = new Linear(8, 8, { bias: false, skipInit: true });
    const lora = new LoraLinear(base, { r: 8, scaling: 1, dropout: 0.5, rng: new Rng(5) });
    tf.tidy(() => {
      lora.loraA.weight.assign(tf.eye(8));
      lora.loraB.weight.assign(tf.eye(8));
    });
    const x = tf.tidy(() => tf.add(toyInput([64, 8]), 2)); // all in [1, 3): no zeros of its own
    const xs = Array.from(await x.data());
    lora.eval();
    expect(maxAbsDiff(await values(lora.forward(x)), xs)).toBeLessThan(tol);
    lora.train();
    const t1 = Array.from(await values(lora.forward(x)));
    const t2 = Array.from(await values(lora.forward(x)));
    let zeros = 0;
    t1.forEach((v, i) => {
      if (v === 0) zeros++;
      else expect(Math.abs(v - 2 * xs[i]!)).toBeLessThan(tol * 10);
    });
    expect(zeros / t1.length).toBeGreaterThan(0.4);
    expect(zeros / t1.length).toBeLessThan(0.6);
    expect(maxAbsDiff(t1, t2)).toBeGreaterThan(0); // a fresh mask per call
    // The base path is never dropped: with B = 0 training output equals the base output.
    tf.tidy(() => lora.loraB.weight.assign(tf.zeros([8, 8])));
    tf.tidy(() => base.weight.assign(tf.eye(8)));
    expect(maxAbsDiff(await values(lora.forward(x)), xs)).toBeLessThan(tol);
    x.dispose();
    lora.dispose();
  });

  it('leaves the wrapped Linear alone; a model that looks its layers up at call time (MLP) sees the adapter; release undoes it', async () => {
    // @mmesid/tensor's MLP runs layers.<i> through callChild, so replaceModule takes effect.
    const mlp = new MLP([4, 6, 3], { rng: new Rng(6) });
    const x = toyInput([2, 4]);
    const before = await values(mlp.forward(x));
    const first = mlp.layers[0]!;
    const lora = new LoraLinear(first, { r: 2, scaling: 1, dropout: 0, rng: new Rng(7) });
    mlp.replaceModule('layers.0', lora);
    expect(maxAbsDiff(await values(mlp.forward(x)), before)).toBe(0);
    tf.tidy(() => lora.loraB.weight.assign(tf.ones([6, 2])));
    const adapted = await values(mlp.forward(x));
    expect(maxAbsDiff(adapted, before)).toBeGreaterThan(1e-3);
    // The base Linear is not patched: its forward is the plain layer, as forwardBase.
    expect(Object.hasOwn(first, 'forward')).toBe(false);
    const plainOut = await values(Linear.prototype.forward.call(first, x));
    expect(maxAbsDiff(await values(first.forward(x)), plainOut)).toBe(0);
    expect(maxAbsDiff(await values(lora.forwardBase(x)), plainOut)).toBe(0);
    expect(maxAbsDiff(await values(lora.forward(x)), plainOut)).toBeGreaterThan(1e-3);
    expect(() => new LoraLinear(first, { r: 2, scaling: 1, dropout: 0, rng: new Rng(8) })).toThrow(
      /already carries/,
    );
    mlp.replaceModule('layers.0', lora.release());
    expect(maxAbsDiff(await values(mlp.forward(x)), before)).toBe(0);
    expect(() => lora.forward(x)).toThrow(/after release/);
    x.dispose();
    mlp.dispose();
  });
});
