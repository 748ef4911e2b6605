import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@mmesid/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadAmazon2014 } from './amazon2014.js';
import { amazon2014Sources, type DownloadProgress, download } from './download.js';
import { ChecksumError, DownloadError, OfflineError } from './errors.js';
import { datasetReport } from './report.js';

const fixtures = fileURLToPath(new URL('../fixtures/amazon2014/', import.meta.url));
const rng = new Rng(11);
const payload = {
  'a.bin': Uint8Array.from({ length: 300_000 }, () => rng.int(256)),
  'b.bin': Uint8Array.from({ length: 70_000 }, () => rng.int(256)),
} as Record<string, Uint8Array>;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Hit {
  path: string;
  range: string | undefined;
  sent: number;
}
let hits: Hit[] = [];
/** Per path: drop the connection after this many body bytes on the next request. */
const dropNext = new Map<string, number>();
let ignoreRange = false;
let server: Server;
let base: string;
const tmp = mkdtempSync(join(tmpdir(), 'mmesid-dl-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const hit: Hit = { path: url.pathname, range: req.headers.range, sent: 0 };
    hits.push(hit);
    let body: Uint8Array | undefined;
    if (url.pathname.startsWith('/files/')) body = payload[url.pathname.slice(7)];
    else if (url.pathname.startsWith('/amazon/')) {
      const p = join(fixtures, url.pathname.slice(8));
      if (existsSync(p)) body = readFileSync(p);
    }
    if (!body) {
      res.writeHead(404, 'Not Found').end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'Content-Length': body.length - start,
        'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else res.writeHead(200, { 'Content-Length': body.length });
    const rest = body.subarray(start);
    const drop = dropNext.get(url.pathname);
    if (drop !== undefined) {
      dropNext.delete(url.pathname);
      res.write(rest.subarray(0, drop), () => {
        hit.sent = drop;
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    hit.sent = rest.length;
    res.end(rest);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  hits = [];
  dropNext.clear();
  ignoreRange = false;
});

const files = () => [
  { name: 'a.bin', url: `${base}/files/a.bin` },
  { name: 'b.bin', url: `${base}/files/b.bin` },
];
let n = 0;
const freshCache = () => mkdtempSync(join(tmp, `c${n++}-`));

describe('download', () => {
  it('fetches, verifies, reports progress, then serves from the cache', async () => {
    const cacheDir = freshCache();
    const events: DownloadProgress[] = [];
    const r = await download('demo', {
      cacheDir,
      files: files(),
      expected: { 'a.bin': { sha256: sha(payload['a.bin']!), bytes: 300_000 } },
      onProgress: (e) => events.push(e),
    });
    expect(r.dir).toBe(join(cacheDir, 'demo'));
    expect(r.files.map((f) => [f.name, f.bytes, f.cached, f.resumed])).toEqual([
      ['a.bin', 300_000, false, false],
      ['b.bin', 70_000, false, false],
    ]);
    expect(r.files[1]!.sha256).toBe(sha(payload['b.bin']!));
    expect(readFileSync(join(r.dir, 'a.bin')).equals(payload['a.bin']!)).toBe(true);
    expect(existsSync(join(r.dir, 'a.bin.part'))).toBe(false);
    const a = events.filter((e) => e.file === 'a.bin');
    expect(a.at(-1)).toMatchObject({ done: 300_000, total: 300_000 });
    expect(a.every((e, i) => i === 0 || e.done >= a[i - 1]!.done)).toBe(true);

    hits = [];
    const again = await download('demo', { cacheDir, files: files(), onProgress: false });
    expect(again.files.every((f) => f.cached)).toBe(true);
    expect(hits).toEqual([]);
  });

  it('resumes a partial file with a Range request', async () => {
    const cacheDir = freshCache();
    mkdirSync(join(cacheDir, 'demo'));
    writeFileSync(join(cacheDir, 'demo', 'a.bin.part'), payload['a.bin']!.subarray(0, 100_000));
    const r = await download('demo', {
      cacheDir,
      files: files().slice(0, 1),
      expected: { 'a.bin': { sha256: sha(payload['a.bin']!) } },
      onProgress: false,
    });
    expect(hits).toEqual([{ path: '/files/a.bin', range: 'bytes=100000-', sent: 200_000 }]);
    expect(r.files[0]).toMatchObject({ resumed: true, cached: false, bytes: 300_000 });
    expect(readFileSync(join(r.dir, 'a.bin')).equals(payload['a.bin']!)).toBe(true);
  });

  it('resumes after the connection drops mid-file', async () => {
    const cacheDir = freshCache();
    dropNext.set('/files/a.bin', 120_000);
    const r = await download('demo', { cacheDir, files: files().slice(0, 1), onProgress: false });
    expect(hits).toHaveLength(2);
    expect(hits[0]).toMatchObject({ range: undefined, sent: 120_000 });
    expect(hits[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(r.files[0]!.resumed).toBe(true);
    expect(readFileSync(join(r.dir, 'a.bin')).equals(payload['a.bin']!)).toBe(true);
  });

  it('keeps the partial file when it gives up, and a later run finishes it', async () => {
    const cacheDir = freshCache();
    dropNext.set('/files/a.bin', 50_000);
    const failed = download('demo', { cacheDir, files: files().slice(0, 1), retries: 0, onProgress: false });
    await expect(failed).rejects.toBeInstanceOf(DownloadError);
    await expect(failed).rejects.toThrow(/partial file .*a\.bin\.part is kept; run again to resume/);
    const part = readFileSync(join(cacheDir, 'demo', 'a.bin.part'));
    expect(part.length).toBeGreaterThan(0);
    expect(part.length).toBeLessThan(300_000);
    const r = await download('demo', { cacheDir, files: files().slice(0, 1), onProgress: false });
    expect(hits.at(-1)!.range).toBe(`bytes=${part.length}-`);
    expect(readFileSync(join(r.dir, 'a.bin')).equals(payload['a.bin']!)).toBe(true);
  });

  it('finishes a partial file that was already complete (HTTP 416)', async () => {
    const cacheDir = freshCache();
    mkdirSync(join(cacheDir, 'demo'));
    writeFileSync(join(cacheDir, 'demo', 'b.bin.part'), payload['b.bin']!);
    const r = await download('demo', { cacheDir, files: files().slice(1), onProgress: false });
    expect(hits).toEqual([{ path: '/files/b.bin', range: 'bytes=70000-', sent: 0 }]);
    expect(readFileSync(join(r.dir, 'b.bin')).equals(payload['b.bin']!)).toBe(true);
  });

  it('starts over when the server ignores the Range header', async () => {
    const cacheDir = freshCache();
    mkdirSync(join(cacheDir, 'demo'));
    writeFileSync(join(cacheDir, 'demo', 'b.bin.part'), Buffer.from('stale bytes'));
    ignoreRange = true;
    const r = await download('demo', { cacheDir, files: files().slice(1), onProgress: false });
    expect(hits[0]!.range).toBe('bytes=11-');
    expect(r.files[0]!.resumed).toBe(false);
    expect(readFileSync(join(r.dir, 'b.bin')).equals(payload['b.bin']!)).toBe(true);
  });

  it('rejects a checksum or size mismatch and deletes the bad bytes', async () => {
    const cacheDir = freshCache();
    const bad = 'f'.repeat(64);
    const p = download('demo', {
      cacheDir,
      files: files().slice(1),
      expected: { 'b.bin': { sha256: bad } },
      onProgress: false,
    });
    await expect(p).rejects.toBeInstanceOf(ChecksumError);
    await expect(p).rejects.toMatchObject({ kind: 'sha256', expected: bad, actual: sha(payload['b.bin']!) });
    expect(existsSync(join(cacheDir, 'demo', 'b.bin'))).toBe(false);
    expect(existsSync(join(cacheDir, 'demo', 'b.bin.part'))).toBe(false);

    const q = download('demo', {
      cacheDir,
      files: files().slice(1),
      expected: { 'b.bin': { bytes: 69_999 } },
      onProgress: false,
    });
    await expect(q).rejects.toMatchObject({ name: 'ChecksumError', kind: 'size' });
  });

  it('fetches again a cached file that fails the expected checksum', async () => {
    const cacheDir = freshCache();
    mkdirSync(join(cacheDir, 'demo'));
    writeFileSync(join(cacheDir, 'demo', 'b.bin'), Buffer.from('corrupt'));
    const r = await download('demo', {
      cacheDir,
      files: files().slice(1),
      expected: { 'b.bin': { sha256: sha(payload['b.bin']!) } },
      onProgress: false,
    });
    expect(r.files[0]!.cached).toBe(false);
    expect(hits).toHaveLength(1);
  });

  it('reports an HTTP error status', async () => {
    const p = download('demo', {
      cacheDir: freshCache(),
      files: [{ name: 'x', url: `${base}/files/missing` }],
      onProgress: false,
    });
    await expect(p).rejects.toThrow(/HTTP 404/);
  });

  it('fails offline with the files, their URLs, where they go and the --data-dir alternative', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const cacheDir = freshCache();
    const p = download('Beauty', {
      cacheDir,
      baseUrl: `http://127.0.0.1:${port}/amazon/`,
      onProgress: false,
    });
    await expect(p).rejects.toBeInstanceOf(OfflineError);
    const err = (await p.catch((e) => e)) as OfflineError;
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).toContain('--data-dir');
    for (const name of ['reviews_Beauty_5.json.gz', 'meta_Beauty.json.gz']) {
      expect(err.message).toContain(`http://127.0.0.1:${port}/amazon/${name}`);
      expect(err.message).toContain(join(cacheDir, 'amazon2014', name));
    }
    expect(err.files).toHaveLength(2);
  });

  it('fetches an Amazon 2014 category that loadAmazon2014 then reads', async () => {
    const cacheDir = freshCache();
    const lines: string[] = [];
    const { dir, files: got } = await download('Beauty', {
      cacheDir,
      baseUrl: `${base}/amazon/`,
      progressStream: { write: (s: string) => lines.push(s), isTTY: false },
    });
    expect(got.map((f) => f.name)).toEqual(['reviews_Beauty_5.json.gz', 'meta_Beauty.json.gz']);
    expect(lines.some((l) => l.startsWith('reviews_Beauty_5.json.gz') && l.includes('100.0%'))).toBe(true);
    const ds = await loadAmazon2014({ dir, category: 'Beauty' });
    expect(datasetReport(ds).interactions).toBe(30);
  });

  it('knows the publisher’s URLs', () => {
    expect(amazon2014Sources('Toys_and_Games').map((f) => f.url)).toEqual([
      'http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/reviews_Toys_and_Games_5.json.gz',
      'http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/meta_Toys_and_Games.json.gz',
    ]);
  });
});
