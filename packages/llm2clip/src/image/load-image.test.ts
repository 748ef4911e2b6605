import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageLoadError } from '../errors.js';
import { bytesOf, imageFixture } from './fixture.js';
import { isUrl, loadImage, loadImageBytes } from './load-image.js';

describe('loadImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm2clip-img-'));
  const png = join(dir, 'a.png');
  writeFileSync(png, bytesOf(imageFixture.png));

  it('reads a local file', async () => {
    const img = await loadImage(png);
    expect([img.width, img.height]).toEqual([imageFixture.width, imageFixture.height]);
  });

  it('reports a missing file with its path', async () => {
    const err = await loadImage(join(dir, 'nope.jpg')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageLoadError);
    expect((err as Error).message).toMatch(/nope\.jpg: file not found/);
  });

  it('downloads URLs through fetch and reports HTTP errors and unreachable networks', async () => {
    expect(isUrl('http://ecx.images-amazon.com/images/I/411jo-OUGeL.jpg')).toBe(true);
    expect(isUrl('/data/a.jpg')).toBe(false);
    const ok = (async () =>
      new Response(bytesOf(imageFixture.png) as unknown as BodyInit)) as unknown as typeof fetch;
    expect((await loadImageBytes('http://example.test/a.png', { fetch: ok })).length).toBeGreaterThan(100);
    const notFound = (async () =>
      new Response('gone', { status: 404, statusText: 'Not Found' })) as unknown as typeof fetch;
    await expect(loadImageBytes('http://example.test/b.jpg', { fetch: notFound })).rejects.toThrow(
      /b\.jpg: HTTP 404 Not Found/,
    );
    const offline = (async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND example.test'), { code: 'ENOTFOUND' }),
      });
    }) as unknown as typeof fetch;
    await expect(loadImageBytes('http://example.test/c.jpg', { fetch: offline })).rejects.toThrow(
      /c\.jpg: could not download \(ENOTFOUND\); the network may be unreachable/,
    );
  });
});
