import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { TINY_CKPT, TINY_DIR, tinyRef, tinyVisionConfig } from '../fixtures/llm2clip-tiny.js';
import { CLIP_VISION_NAMES } from '../weights/clip-vision-names.js';
import { loadWeights, saveWeights } from '../weights/load-weights.js';
import {
  CLIP_VISION_L14_336_DEFAULTS,
  clipVisionConfig,
  clipVisionConfigFromHf,
} from './clip-vision-config.js';
import { patchify } from './clip-vision-embeddings.js';
import { ClipVisionModelWithProjection } from './clip-vision-model.js';

const tmp = mkdtempSync(join(tmpdir(), 'llm2clip-vision-'));
const [B, C, S] = tinyRef.pixels_shape;

async function loadTiny(): Promise<ClipVisionModelWithProjection> {
  const m = new ClipVisionModelWithProjection(tinyVisionConfig, { skipInit: true });
  await loadWeights(m, TINY_CKPT, CLIP_VISION_NAMES);
  return m;
}

describe('CLIP vision config', () => {
  it('reads LLM2CLIP / CLIPConfig json (top-level projection_dim wins) and validates', async () => {
    const { readFileSync } = await import('node:fs');
    const cfg = clipVisionConfigFromHf(JSON.parse(readFileSync(`${TINY_DIR}/config.json`, 'utf8')));
    expect(cfg).toEqual({ ...tinyVisionConfig, hiddenAct: 'quick_gelu' });
    expect(CLIP_VISION_L14_336_DEFAULTS.projectionDim).toBe(1280);
    expect(() => clipVisionConfig({ imageSize: 30, patchSize: 7 })).toThrow(/multiple of patchSize/);
    expect(() => clipVisionConfig({ hiddenSize: 10, numAttentionHeads: 4 })).toThrow(
      /multiple of numAttentionHeads/,
    );
  });

  it('counts ViT-L/14-336 at ~0.17 T multiply-adds per image (577 tokens, 24 layers)', () => {
    const m = new ClipVisionModelWithProjection({ ...tinyVisionConfig }, { skipInit: true });
    m.dispose();
    const c = CLIP_VISION_L14_336_DEFAULTS;
    const s = 577;
    const expected =
      576 * 3 * 14 * 14 * 1024 +
      24 * (4 * s * 1024 * 1024 + 2 * s * s * 1024 + 2 * s * 1024 * 4096) +
      1024 * 1280;
    const big = Object.create(ClipVisionModelWithProjection.prototype) as ClipVisionModelWithProjection;
    Object.defineProperty(big, 'config', { value: c });
    expect(big.macsPerImage()).toBe(expected);
  });
});

describeBackends('ClipVisionModelWithProjection', ({ backend, tol }) => {
  it('patch embedding as patchify + matmul equals the stride-p convolution (numpy, explicit sums)', async () => {
    const m = await loadTiny();
    const px = tf.tensor4d(tinyRef.pixels, [B, C, S, S]);
    const got = m.visionModel.embeddings.patchEmbed(px);
    expect(got.shape).toEqual([B, (S / tinyVisionConfig.patchSize) ** 2, tinyVisionConfig.hiddenSize]);
    expect(maxAbsDiff(await got.data(), tinyRef.patch_embeds)).toBeLessThan(10 * tol);
    tf.dispose([px, got]);
    m.dispose();
  });

  it('patchify orders patches row-major and flattens each as (channel, row, column)', async () => {
    // 1 image, 2 channels, 4x4, patch 2: value = c*100 + y*10 + x.
    const vals: number[] = [];
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) vals.push(c * 100 + y * 10 + x);
    const px = tf.tensor4d(vals, [1, 2, 4, 4]);
    const p = patchify(px, 2);
    const arr = (await p.array()) as number[][][];
    expect(arr[0]![1]).toEqual([2, 3, 12, 13, 102, 103, 112, 113]); // grid (0, 1)
    expect(arr[0]![2]).toEqual([20, 21, 30, 31, 120, 121, 130, 131]); // grid (1, 0)
    tf.dispose([px, p]);
  });

  it('loads the checkpoint names and matches the numpy CLIPVisionModelWithProjection forward', async () => {
    const m = await loadTiny();
    const px = tf.tensor4d(tinyRef.pixels, [B, C, S, S]);
    const y = m.forward(px);
    expect(y.shape).toEqual([B, tinyVisionConfig.projectionDim]);
    expect(maxAbsDiff(await y.data(), tinyRef.image_embeds)).toBeLessThan(50 * tol);
    tf.dispose([px, y]);
    m.dispose();
  });

  it('gives each image the same vector alone or in a batch, and the same twice', async () => {
    const m = await loadTiny();
    const px = tf.tensor4d(tinyRef.pixels, [B, C, S, S]);
    const both = m.forward(px);
    const second = tf.tidy(() => m.forward(tf.slice(px, [1, 0, 0, 0], [1, -1, -1, -1])));
    const again = m.forward(px);
    const a = await both.data();
    expect(maxAbsDiff(await second.data(), a.slice(tinyVisionConfig.projectionDim))).toBeLessThan(10 * tol);
    expect(maxAbsDiff(await again.data(), a)).toBe(0);
    tf.dispose([px, both, second, again]);
    m.dispose();
  });

  it('round-trips through safetensors', async () => {
    const a = new ClipVisionModelWithProjection(tinyVisionConfig, { rng: new Rng(4) });
    const file = join(tmp, `vision-${backend}.safetensors`);
    await saveWeights(file, a);
    const b = new ClipVisionModelWithProjection(tinyVisionConfig, { skipInit: true });
    await loadWeights(b, file, CLIP_VISION_NAMES);
    const px = tf.tensor4d(tinyRef.pixels, [B, C, S, S]);
    const ya = a.forward(px);
    const yb = b.forward(px);
    expect(maxAbsDiff(await ya.data(), await yb.data())).toBe(0);
    tf.dispose([px, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('the patch embedding trains: its kernel gradient is the analytic 2 Y^T P, and flows end to end', async () => {
    const m = new ClipVisionModelWithProjection(tinyVisionConfig, { rng: new Rng(5) });
    const kernel = m.visionModel.embeddings.patchEmbedding.weight;
    const px = tf.tensor4d(tinyRef.pixels, [B, C, S, S]);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(m.visionModel.embeddings.patchEmbed(px))) as tf.Scalar,
      [kernel],
    );
    const g = grads[kernel.name]!;
    const expected = tf.tidy(() => {
      const p = tf.reshape(patchify(px, tinyVisionConfig.patchSize), [
        -1,
        C * tinyVisionConfig.patchSize ** 2,
      ]);
      const y = tf.matMul(p, tf.reshape(kernel, [tinyVisionConfig.hiddenSize, -1]), false, true);
      return tf.reshape(tf.mul(2, tf.matMul(y, p, true, false)), kernel.shape);
    });
    expect(g.shape).toEqual(kernel.shape);
    const ref = await expected.data();
    const scale = Math.max(...Array.from(ref, Math.abs));
    expect(maxAbsDiff(await g.data(), ref) / scale).toBeLessThan(10 * tol);
    // And end to end: the loss on the projected embedding reaches the patch kernel through every layer.
    const full = tf.variableGrads(() => tf.sum(tf.square(m.forward(px))) as tf.Scalar, [kernel]);
    const gFull = full.grads[kernel.name]!;
    const maxT = tf.tidy(() => tf.max(tf.abs(gFull)));
    const absMax = (await maxT.data())[0]!;
    maxT.dispose();
    expect(Number.isFinite(absMax) && absMax > 0).toBe(true);
    tf.dispose([px, value, g, expected, full.value, gFull]);
    m.dispose();
  });
});
