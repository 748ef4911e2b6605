import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { MissingInputError } from '../errors.js';
import { TINY_DIR, tinyVisionConfig } from '../fixtures/llm2clip-tiny.js';
import { clipImageProcessorConfig, preprocessClipImage } from '../image/clip-image-processor.js';
import { decodeImage } from '../image/decode-image.js';
import { bytesOf, imageFixture } from '../image/fixture.js';
import { ClipVisionEncoder } from './clip-vision-encoder.js';

const dir = mkdtempSync(join(tmpdir(), 'llm2clip-venc-'));
writeFileSync(join(dir, 'a.png'), bytesOf(imageFixture.png));
writeFileSync(join(dir, 'b.jpg'), bytesOf(imageFixture.jpeg));
writeFileSync(join(dir, 'c.gif'), bytesOf(imageFixture.gif));
writeFileSync(join(dir, 'broken.jpg'), new TextEncoder().encode('<html>not found</html>'));

const offline = (async () => {
  throw new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH' }),
  });
}) as unknown as typeof fetch;

describeBackends('ClipVisionEncoder', ({ tol }) => {
  it('loads a checkpoint directory (config, preprocessor, safetensors) and embeds images from disk', async () => {
    const enc = await ClipVisionEncoder.fromPretrained(TINY_DIR, { load: { fetch: offline } });
    expect(enc.dim).toBe(tinyVisionConfig.projectionDim);
    expect(enc.name).toBe('clip-vision(llm2clip-tiny,28px/p7,h16x2,proj=12)');
    const v = await enc.encode([join(dir, 'a.png'), { id: 3, image: join(dir, 'b.jpg') }]);
    expect(v.length).toBe(2 * enc.dim);
    // Same as preprocessing by hand and running the model.
    const px = preprocessClipImage(
      await decodeImage(bytesOf(imageFixture.png)),
      clipImageProcessorConfig({ shortestEdge: 28, cropSize: 28 }),
    );
    const y = tf.tidy(() => enc.model.forward(tf.tensor4d(px, [1, 3, 28, 28])));
    expect(maxAbsDiff(await y.data(), v.subarray(0, enc.dim))).toBeLessThan(tol);
    y.dispose();
    enc.dispose();
  });

  it('reports each image that cannot be had, with the reason, and never fills it in', async () => {
    const enc = await ClipVisionEncoder.fromPretrained(TINY_DIR, { load: { fetch: offline } });
    const batch = [
      { id: 1, image: join(dir, 'a.png') },
      { id: 2, image: join(dir, 'missing.jpg') },
      { id: 3, image: 'http://ecx.images-amazon.com/images/I/411jo-OUGeL.jpg' },
      { id: 4, image: join(dir, 'broken.jpg') },
      { id: 5 },
      { id: 6, image: join(dir, 'c.gif') },
    ];
    const { vectors, missing } = await enc.encodeBatch(batch);
    expect(missing.map((m) => [m.index, m.id])).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
    expect(missing[0]!.reason).toMatch(/missing\.jpg: file not found/);
    expect(missing[1]!.reason).toMatch(/could not download \(ENETUNREACH\)/);
    expect(missing[2]!.reason).toMatch(/broken\.jpg: not an image/);
    expect(missing[3]!.reason).toBe('no image');
    for (const m of missing)
      expect(vectors.subarray(m.index * enc.dim, (m.index + 1) * enc.dim).every((x) => x === 0)).toBe(true);
    // The good ones are what they are alone (batch composition does not matter).
    const alone = await enc.encode([join(dir, 'c.gif')]);
    expect(maxAbsDiff(alone, vectors.subarray(5 * enc.dim, 6 * enc.dim))).toBeLessThan(tol);
    await expect(enc.encode(batch)).rejects.toBeInstanceOf(MissingInputError);
    enc.dispose();
  });

  it('maps image sources through resolveImage (e.g. URL -> local copy)', async () => {
    const enc = await ClipVisionEncoder.fromPretrained(TINY_DIR, {
      resolveImage: (src) => join(dir, src.split('/').pop()!),
    });
    const v = await enc.encode(['http://example.invalid/images/a.png']);
    const w = await enc.encode([join(dir, 'a.png')]);
    expect(maxAbsDiff(v, w)).toBe(0);
    enc.dispose();
  });
});
