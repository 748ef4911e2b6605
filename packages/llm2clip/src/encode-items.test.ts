import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddingTableJsonPath, readEmbeddingTable } from './cache/embedding-table.js';
import { encodeItems } from './encode-items.js';
import { EmbeddingCacheError } from './errors.js';
import type { Item } from './item.js';
import {
  type BatchEncoding,
  type EncoderInput,
  inputText,
  type StagedEncoder,
  strictVectors,
} from './modality-encoder.js';
import { progressPrinter } from './progress.js';

/** A deterministic encoder: vector j of a text = sin((j + 1) * hash(text)); counts what it encodes. */
class FakeEncoder {
  readonly modality = 'text' as const;
  encodedTexts: string[] = [];
  calls = 0;
  constructor(
    readonly name = 'fake',
    readonly dim = 3,
    readonly failAtCall = -1,
  ) {}
  static vector(text: string, dim: number): number[] {
    let h = 0;
    for (const c of text) h = (h * 31 + c.charCodeAt(0)) % 1000;
    return Array.from({ length: dim }, (_, j) => Math.fround(Math.sin((j + 1) * (h + 1))));
  }
  async encodeBatch(batch: readonly EncoderInput[]): Promise<BatchEncoding> {
    if (++this.calls === this.failAtCall) throw new Error('GPU fell off the bus');
    const vectors = new Float32Array(batch.length * this.dim);
    const missing: BatchEncoding['missing'][number][] = [];
    batch.forEach((b, i) => {
      const t = inputText(b)!;
      if (t.includes('MISSING')) missing.push({ index: i, reason: 'told to be missing' });
      else {
        this.encodedTexts.push(t);
        vectors.set(FakeEncoder.vector(t, this.dim), i * this.dim);
      }
    });
    return { vectors, missing };
  }
  async encode(batch: readonly EncoderInput[]) {
    return strictVectors(this.name, await this.encodeBatch(batch));
  }
  dispose() {}
}

const items: Item[] = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, title: `item number ${i + 1}` }));

function tmpFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'llm2clip-enc-')), name);
}

describe('encodeItems', () => {
  it('writes row id = item id with a zero padding row 0, as safetensors + JSON', async () => {
    const file = tmpFile('t.safetensors');
    const enc = new FakeEncoder();
    const r = await encodeItems(items, enc, { cacheFile: file, batchSize: 4 });
    expect(r.encoded).toBe(10);
    expect(r.complete).toBe(true);
    expect(enc.calls).toBe(3);
    const t = await readEmbeddingTable(file);
    expect([t.rows, t.dim, t.encoder, t.modality]).toEqual([11, 3, 'fake', 'text']);
    expect([...t.data.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect(t.done[0]).toBe(0);
    for (const it of items)
      expect([...t.data.subarray(it.id * 3, it.id * 3 + 3)]).toEqual(FakeEncoder.vector(it.title!, 3));
    const json = JSON.parse(readFileSync(embeddingTableJsonPath(file), 'utf8'));
    expect(json).toMatchObject({
      format: 'mmesid-embeddings/1',
      encoder: 'fake',
      dim: 3,
      rows: 11,
      encoded: 10,
      complete: true,
    });
    // Atomic writes leave no temporary files behind.
    expect(readdirSync(join(file, '..')).sort()).toEqual(['t.json', 't.safetensors']);
  });

  it('never re-encodes what the cache holds and resumes an interrupted run', async () => {
    const file = tmpFile('r.safetensors');
    const ac = new AbortController();
    const first = new FakeEncoder();
    const run = encodeItems(items, first, {
      cacheFile: file,
      batchSize: 3,
      saveEverySeconds: 0,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.encodedThisRun === 6) ac.abort(new Error('interrupted'));
      },
    });
    await expect(run).rejects.toThrow('interrupted');
    const partial = await readEmbeddingTable(file);
    expect([...partial.done]).toEqual([0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    const second = new FakeEncoder();
    const r = await encodeItems(items, second, { cacheFile: file, batchSize: 3 });
    expect(second.encodedTexts).toEqual([
      'item number 7',
      'item number 8',
      'item number 9',
      'item number 10',
    ]);
    expect([r.encoded, r.fromCache, r.complete]).toEqual([4, 6, true]);
    const third = new FakeEncoder();
    const again = await encodeItems(items, third, { cacheFile: file });
    expect(third.calls).toBe(0);
    expect(again.fromCache).toBe(10);
  });

  it('sees an abort from a timer even when every batch settles as a microtask (yields between batches)', async () => {
    const many: Item[] = Array.from({ length: 500 }, (_, i) => ({ id: i + 1, title: `t${i}` }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('timer abort')), 0);
    const enc = new FakeEncoder();
    await expect(encodeItems(many, enc, { batchSize: 1, signal: ac.signal })).rejects.toThrow('timer abort');
    expect(enc.calls).toBeLessThan(500);
  });

  it('keeps finished batches when the encoder crashes, then finishes on the next run', async () => {
    const file = tmpFile('c.safetensors');
    await expect(
      encodeItems(items, new FakeEncoder('fake', 3, 3), { cacheFile: file, batchSize: 2 }),
    ).rejects.toThrow('GPU fell off the bus');
    expect((await readEmbeddingTable(file)).done.reduce((a, b) => a + b, 0)).toBe(4);
    const next = new FakeEncoder();
    await encodeItems(items, next, { cacheFile: file, batchSize: 2 });
    expect(next.encodedTexts.length).toBe(6);
  });

  it('records missing items by id with the reason, skips them on resume unless retryMissing', async () => {
    const file = tmpFile('m.safetensors');
    const withMissing: Item[] = [
      ...items.slice(0, 3),
      { id: 4, title: 'MISSING one' },
      { id: 5 },
      { id: 7, title: 'x' },
    ];
    const r = await encodeItems(withMissing, new FakeEncoder(), { cacheFile: file });
    expect([...r.missing]).toEqual([
      [5, 'item has no title'],
      [4, 'told to be missing'],
    ]);
    expect(r.complete).toBe(true);
    const t = await readEmbeddingTable(file);
    expect(t.rows).toBe(8);
    expect([...t.done]).toEqual([0, 1, 1, 1, 0, 0, 0, 1]);
    expect(t.missing.get(4)).toBe('told to be missing');
    expect(JSON.parse(readFileSync(embeddingTableJsonPath(file), 'utf8')).missing).toEqual([
      { id: 4, reason: 'told to be missing' },
      { id: 5, reason: 'item has no title' },
    ]);
    const skip = new FakeEncoder();
    await encodeItems(withMissing, skip, { cacheFile: file });
    expect(skip.calls).toBe(0);
    const retry = new FakeEncoder();
    await encodeItems(withMissing, retry, { cacheFile: file, retryMissing: true });
    expect(retry.calls).toBe(1);
  });

  it('re-encodes an item whose input changed, and refuses a cache of another encoder or size', async () => {
    const file = tmpFile('s.safetensors');
    await encodeItems(items, new FakeEncoder(), { cacheFile: file });
    const changed = items.map((it) => (it.id === 2 ? { ...it, title: 'a new title' } : it));
    const enc = new FakeEncoder();
    const r = await encodeItems(changed, enc, { cacheFile: file });
    expect([r.stale, r.encoded, enc.encodedTexts]).toEqual([1, 1, ['a new title']]);
    await expect(encodeItems(items, new FakeEncoder('other'), { cacheFile: file })).rejects.toBeInstanceOf(
      EmbeddingCacheError,
    );
    await expect(encodeItems(items, new FakeEncoder('fake', 4), { cacheFile: file })).rejects.toThrow(
      /dim 3 vs 4/,
    );
    await expect(encodeItems(items, new FakeEncoder(), { cacheFile: file, rows: 20 })).rejects.toThrow(
      /rows 11 vs 20/,
    );
    await expect(
      encodeItems(items, new FakeEncoder(), { cacheFile: join(file, '..', 'x.bin') }),
    ).rejects.toThrow(/\.safetensors/);
    await expect(encodeItems([{ id: 0, title: 'pad' }], new FakeEncoder())).rejects.toThrow(
      /ids must be integers >= 1/,
    );
    await expect(encodeItems([items[0]!, items[0]!], new FakeEncoder())).rejects.toThrow(/appears twice/);
  });

  it('takes a dataset-like { items: (meta | null)[] } and works in memory without a cache file', async () => {
    const r = await encodeItems(
      { items: [null, { title: 'a b', imageUrl: 'http://x/1.jpg' }, null, { title: 'c d', imageUrl: '' }] },
      new FakeEncoder(),
    );
    expect(r.table.rows).toBe(4);
    expect([...r.table.done]).toEqual([0, 1, 0, 1]);
  });

  it('caches a staged encoder backbone separately: a new head never re-runs the backbone', async () => {
    const file = tmpFile('staged.safetensors');
    const backbone = new FakeEncoder('big-llm', 4);
    const staged = (scale: number): StagedEncoder => ({
      name: `adapted-x${scale}`,
      dim: 2,
      modality: 'text',
      backbone,
      async head(pre, n) {
        const out = new Float32Array(n * 2);
        for (let i = 0; i < n; i++) {
          out[i * 2] = scale * pre[i * 4]!;
          out[i * 2 + 1] = scale * (pre[i * 4 + 1]! + pre[i * 4 + 2]!);
        }
        return out;
      },
      async encode() {
        throw new Error('not used by encodeItems');
      },
      dispose() {},
    });
    const withMissing = [...items.slice(0, 4), { id: 5, title: 'MISSING' }];
    const r1 = await encodeItems(withMissing, staged(1), { cacheFile: file, batchSize: 2 });
    expect(existsSync(file.replace('.safetensors', '.backbone.safetensors'))).toBe(true);
    expect(r1.backbone?.encoded).toBe(4);
    expect(r1.missing.get(5)).toBe('told to be missing');
    const calls = backbone.calls;
    const other = tmpFile('staged2.safetensors');
    const r2 = await encodeItems(withMissing, staged(2), {
      cacheFile: other,
      backboneCacheFile: file.replace('.safetensors', '.backbone.safetensors'),
    });
    expect(backbone.calls).toBe(calls);
    expect(r2.table.data[2]).toBeCloseTo(2 * r1.table.data[2]!, 6);
  });
});

describe('progressPrinter', () => {
  const p = (done: number) => ({
    label: 'enc',
    done,
    total: 100,
    encodedThisRun: done,
    missing: 1,
    rate: 12.5,
    etaSeconds: 125,
  });

  it('prints plain lines (at most every interval, and at each 10 %) when not a TTY', () => {
    const out: string[] = [];
    let t = 0;
    const bar = progressPrinter({ write: (s) => out.push(s) }, { intervalMs: 1000, now: () => t });
    bar.update(p(1));
    bar.update(p(2));
    t = 2000;
    bar.update(p(3));
    bar.update(p(12));
    bar.finish();
    expect(out).toEqual([
      'enc 1.0% 1/100 1 missing 12.5 items/s ETA 2m05s\n',
      'enc 3.0% 3/100 1 missing 12.5 items/s ETA 2m05s\n',
      'enc 12.0% 12/100 1 missing 12.5 items/s ETA 2m05s\n',
    ]);
  });

  it('redraws one bar in place on a TTY', () => {
    const out: string[] = [];
    const bar = progressPrinter({ write: (s) => out.push(s), isTTY: true }, { now: () => 0 });
    bar.update(p(50));
    bar.finish();
    expect(out[0]).toBe(
      '\renc [############............] 50.0% 50/100 1 missing 12.5 items/s ETA 2m05s\x1b[K',
    );
    expect(out[1]!.endsWith('\n')).toBe(true);
  });
});
