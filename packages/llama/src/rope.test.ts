import { readFileSync } from 'node:fs';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { parseLlamaConfig } from './config.js';
import { applyRotary, computeInvFreq, RopeTable, ropeCosSin } from './rope.js';

interface RopeCase {
  name: string;
  config: { head_dim: number; rope_theta: number; rope_scaling: Record<string, unknown> | null };
  inv_freq: number[];
  unscaled?: number[];
}
// Closed-form values from fixtures/make_rope.py (numpy, float64).
const fixture = JSON.parse(readFileSync(new URL('../fixtures/rope.json', import.meta.url), 'utf8')) as {
  cases: RopeCase[];
  cos_sin: { position: number; head_dim: number; theta: number; cos: number[]; sin: number[] };
};

function cfgOf(c: RopeCase['config']) {
  const heads = 4;
  return parseLlamaConfig({
    hidden_size: c.head_dim * heads,
    intermediate_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: heads,
    vocab_size: 8,
    head_dim: c.head_dim,
    rope_theta: c.rope_theta,
    rope_scaling: c.rope_scaling,
  });
}

describe('computeInvFreq', () => {
  for (const c of fixture.cases) {
    it(`matches the closed form: ${c.name}`, () => {
      const got = computeInvFreq(cfgOf(c.config));
      expect(got.length).toBe(c.inv_freq.length);
      for (let i = 0; i < got.length; i++)
        expect(Math.abs(got[i]! - c.inv_freq[i]!) / c.inv_freq[i]!).toBeLessThan(1e-7);
    });
  }

  it('llama3 scaling keeps high frequencies, divides low ones by factor and blends the middle band', () => {
    const c = fixture.cases.find((x) => x.name === 'llama3 factor 8.0')!;
    const got = computeInvFreq(cfgOf(c.config));
    const ratio = Array.from(got, (v, i) => v / c.unscaled![i]!);
    const kept = ratio.filter((r) => Math.abs(r - 1) < 1e-6).length;
    const divided = ratio.filter((r) => Math.abs(r - 1 / 8) < 1e-6).length;
    expect(kept).toBe(29);
    expect(divided).toBe(29);
    expect(ratio.filter((r) => r < 1 - 1e-6 && r > 1 / 8 + 1e-6).length).toBe(6);
  });
});

describeBackends('rope tensors', ({ backend, tol }) => {
  it('cos/sin tables match numpy at position 7 (stories260k head)', async () => {
    const { cos_sin: f } = fixture;
    const inv = tf.tensor1d(
      computeInvFreq({ head_dim: f.head_dim, rope_theta: f.theta, rope_scaling: null }),
    );
    const pos = tf.tensor2d([[f.position]], [1, 1], 'int32');
    const { cos, sin } = ropeCosSin(pos, inv);
    expect(cos.shape).toEqual([1, 1, 8]);
    const [c, sn] = [await cos.data(), await sin.data()];
    tf.dispose([inv, pos, cos, sin]);
    expect(maxAbsDiff(c, f.cos)).toBeLessThan(backend === 'webgpu' ? 2e-3 : tol * 10);
    expect(maxAbsDiff(sn, f.sin)).toBeLessThan(backend === 'webgpu' ? 2e-3 : tol * 10);
  });

  it('the host-computed table gives float32-exact cos/sin on every backend', async () => {
    const { cos_sin: f } = fixture;
    const table = new RopeTable(
      computeInvFreq({ head_dim: f.head_dim, rope_theta: f.theta, rope_scaling: null }),
    );
    const pos = tf.tensor2d([[0, f.position]], [1, 2], 'int32');
    const { cos, sin } = table.gather(pos, f.position + 1);
    const [c, sn] = [await cos.data(), await sin.data()];
    tf.dispose([pos, cos, sin]);
    expect(cos.shape).toEqual([1, 2, 8]);
    expect(maxAbsDiff(c.subarray(8), f.cos)).toBeLessThan(1e-7);
    expect(maxAbsDiff(sn.subarray(8), f.sin)).toBeLessThan(1e-7);
    expect(Array.from(c.subarray(0, 8))).toEqual(new Array(8).fill(1));
  });

  it('rotates pairs (i, i + d/2) by the position angle and preserves norms', async () => {
    const inv = tf.tensor1d(computeInvFreq({ head_dim: 4, rope_theta: 10000, rope_scaling: null }));
    const pos = tf.tensor2d([[3]], [1, 1], 'int32');
    const { cos, sin } = ropeCosSin(pos, inv);
    const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 1, 4]);
    const y = applyRotary(x, cos, sin);
    const v = await y.data();
    const a0 = 3 * 1;
    const a1 = 3 * 10000 ** -0.5;
    const expected = [
      1 * Math.cos(a0) - 3 * Math.sin(a0),
      2 * Math.cos(a1) - 4 * Math.sin(a1),
      3 * Math.cos(a0) + 1 * Math.sin(a0),
      4 * Math.cos(a1) + 2 * Math.sin(a1),
    ];
    tf.dispose([inv, pos, cos, sin, x, y]);
    // On-device sin/cos (used only for caller-supplied position tensors): SwiftShader's are coarse.
    expect(maxAbsDiff(v, expected)).toBeLessThan(backend === 'webgpu' ? 2e-3 : 1e-5);
  });
});
