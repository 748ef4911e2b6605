import { readFileSync } from 'node:fs';
import { ConfigError, GAUSSIAN_MMD, Rng, registerGaussianMmd, ShapeError, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { MetricsInputError } from '../errors.js';
import type { EmbeddingTable } from '../table.js';
import { mmd } from './mmd.js';
import { mmdLoss } from './mmd-loss.js';
import type { GaussianKernel } from './options.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/mmd.json', import.meta.url), 'utf8')) as {
  d: number;
  n: number;
  m: number;
  x: number[];
  y: number[];
  cases: {
    kernels: GaussianKernel[];
    estimator: 'biased' | 'unbiased';
    mmd2: number;
    sigma2: number[];
    self_mmd2: number;
  }[];
};
const X: EmbeddingTable = { rows: fixture.n, cols: fixture.d, data: Float32Array.from(fixture.x) };
const Y: EmbeddingTable = { rows: fixture.m, cols: fixture.d, data: Float32Array.from(fixture.y) };

describe('mmd (float64 JS)', () => {
  it('matches the numpy definitions for fixed, mean, median and multi-kernel bandwidths (fixtures/make_mmd.py)', () => {
    for (const c of fixture.cases) {
      const label = `${JSON.stringify(c.kernels)} ${c.estimator}`;
      const r = mmd(X, Y, { kernels: c.kernels, estimator: c.estimator });
      expect(Math.abs(r.mmd2 - c.mmd2), label).toBeLessThan(1e-12);
      for (const [i, s] of r.sigma2.entries()) {
        expect(Math.abs(s - c.sigma2[i]!) / c.sigma2[i]!, label).toBeLessThan(1e-12);
      }
      const self = mmd(X, X, { kernels: c.kernels, estimator: c.estimator }).mmd2;
      expect(Math.abs(self - c.self_mmd2), label).toBeLessThan(1e-12);
    }
  });

  it('is 0 for a sample against itself (biased) and positive for different samples', () => {
    expect(Math.abs(mmd(X, X).mmd2)).toBeLessThan(1e-15);
    expect(mmd(X, Y).mmd2).toBeGreaterThan(0);
  });

  it('rejects mismatched widths, too few rows, degenerate bandwidths and bad options', () => {
    expect(() => mmd(X, { rows: 1, cols: 3, data: new Float32Array(3) })).toThrow(ShapeError);
    const one: EmbeddingTable = { rows: 1, cols: fixture.d, data: X.data.slice(0, fixture.d) };
    expect(() => mmd(one, Y, { estimator: 'unbiased' })).toThrow(/at least 2 rows per sample/);
    expect(() => mmd(one, one)).toThrow(/squared distance is 0/);
    expect(() => mmd(X, Y, { kernels: [] })).toThrow(ConfigError);
    expect(() => mmd(X, Y, { kernels: [{ sigma: -1 }] })).toThrow(ConfigError);
    const nan = { ...X, data: X.data.slice() };
    nan.data[7] = Number.NaN;
    expect(() => mmd(nan, Y)).toThrow(MetricsInputError);
  });
});

describeBackends('mmdLoss (tensor)', ({ backend, tol }) => {
  it('matches the numpy fixtures in float32', async () => {
    const x = tf.tensor2d(X.data, [fixture.n, fixture.d]);
    const y = tf.tensor2d(Y.data, [fixture.m, fixture.d]);
    for (const c of fixture.cases) {
      const loss = mmdLoss(x, y, { kernels: c.kernels, estimator: c.estimator });
      const self = mmdLoss(x, x, { kernels: c.kernels, estimator: c.estimator });
      const [v, s] = [(await loss.data())[0]!, (await self.data())[0]!];
      tf.dispose([loss, self]);
      const label = `${JSON.stringify(c.kernels)} ${c.estimator}`;
      expect(Math.abs(v - c.mmd2), label).toBeLessThan(20 * tol);
      expect(Math.abs(s - c.self_mmd2), label).toBeLessThan(20 * tol);
    }
    tf.dispose([x, y]);
  });

  it('is differentiable: gradients match finite differences and training on it pulls the samples together', async () => {
    const x0 = tf.tensor2d(X.data.slice(0, 6 * fixture.d), [6, fixture.d]);
    const y = tf.tensor2d(Y.data.slice(0, 5 * fixture.d), [5, fixture.d]);
    const opts = { kernels: [{ sigma: 2 }, { bandwidth: 'mean' as const }], estimator: 'unbiased' as const };
    const grad = tf.grad((x: tf.Tensor) => mmdLoss(x, y, opts));
    const g = grad(x0);
    const gv = await g.data();
    // Central differences in float32 on a few coordinates.
    const h = backend === 'webgpu' ? 1e-2 : 3e-3;
    for (const idx of [0, 7, 13, 29]) {
      const base = await x0.data();
      const at = async (delta: number) => {
        const v = Float32Array.from(base);
        v[idx]! += delta;
        const xt = tf.tensor2d(v, [6, fixture.d]);
        const l = mmdLoss(xt, y, opts);
        const r = (await l.data())[0]!;
        tf.dispose([xt, l]);
        return r;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      expect(Math.abs(fd - gv[idx]!), `coordinate ${idx}`).toBeLessThan(2e-3 + 0.05 * Math.abs(gv[idx]!));
    }
    const before = mmdLoss(x0, y, opts);
    const x1 = tf.tidy(() => tf.sub(x0, tf.mul(g, 0.5)));
    const after = mmdLoss(x1, y, opts);
    expect((await after.data())[0]!).toBeLessThan((await before.data())[0]!);
    tf.dispose([x0, y, g, before, x1, after]);
  });

  it('runs the pairs in one kernel on cpu and wasm, with the value and gradients of the composite', async () => {
    if (backend !== 'cpu' && backend !== 'wasm') return;
    const rng = new Rng(3);
    for (const [n, m, d, kernels, estimator] of [
      [2, 2, 1, [{ bandwidth: 'mean', alpha: 1 }], 'unbiased'],
      [7, 5, 3, [{ sigma: 2 }, { bandwidth: 'mean', alpha: 0.5 }], 'biased'],
      [300, 300, 64, [{ bandwidth: 'mean', alpha: 0.5 }], 'unbiased'], // the MM-RQ-VAE's loss, smaller batch
      [
        40,
        9,
        8,
        [
          { bandwidth: 'mean', alpha: 0.125 },
          { bandwidth: 'mean', alpha: 2 },
        ],
        'biased',
      ],
    ] as const) {
      const x = tf.tensor2d(
        Float32Array.from({ length: n * d }, () => rng.float() * 2 - 1),
        [n, d],
      );
      const y = tf.tensor2d(
        Float32Array.from({ length: m * d }, () => rng.float() * 1.5 - 0.5),
        [m, d],
      );
      const opts = { kernels: [...kernels], estimator };
      const run = async () => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => mmdLoss(a, b, opts))([
          x,
          y,
        ]);
        const out = [(await value.data())[0]!, await grads[0]!.data(), await grads[1]!.data()] as const;
        tf.dispose([value, ...grads]);
        return out;
      };
      const prof = await tf.profile(async () => (await run())[0]);
      expect(prof.kernels.filter((k) => k.name === GAUSSIAN_MMD).length).toBe(1);
      const [v, gx, gy] = await run();
      tf.unregisterKernel(GAUSSIAN_MMD, backend);
      let composite: Awaited<ReturnType<typeof run>>;
      try {
        composite = await run();
      } finally {
        registerGaussianMmd();
      }
      const [cv, cgx, cgy] = composite;
      const label = `[${n}, ${m}, ${d}] ${JSON.stringify(kernels)} ${estimator}`;
      expect(Math.abs(v - cv), label).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(cv)));
      for (const [a, b] of [
        [gx, cgx],
        [gy, cgy],
      ] as const) {
        let scale = 0;
        let err = 0;
        for (let i = 0; i < a.length; i++) {
          scale = Math.max(scale, Math.abs(b[i]!));
          err = Math.max(err, Math.abs(a[i]! - b[i]!));
        }
        expect(err, `${label}: gradient`).toBeLessThanOrEqual(1e-4 * scale + 1e-7);
      }
      tf.dispose([x, y]);
    }
  });

  it('rejects bad shapes', () => {
    const a = tf.zeros([3, 2]);
    const b = tf.zeros([3, 4]);
    expect(() => mmdLoss(a, b)).toThrow(ShapeError);
    const one = tf.slice(a, [0, 0], [1, 2]);
    expect(() => mmdLoss(one, a, { estimator: 'unbiased' })).toThrow(/at least 2 rows/);
    tf.dispose([a, b, one]);
  });
});
