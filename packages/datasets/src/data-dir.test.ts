import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataDir } from './data-dir.js';
import { DatasetError } from './errors.js';

const fixtures = fileURLToPath(new URL('../fixtures/amazon2014/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'mmesid-datadir-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadDataDir', () => {
  it('recognises the authors’ layout', async () => {
    const dir = mkdtempSync(join(tmp, 'a-'));
    writeFileSync(join(dir, 'sequences.txt'), '1 1 2 3\n');
    const ds = await loadDataDir(dir, { name: 'x' });
    expect([ds.provenance.kind, ds.name]).toEqual(['authors', 'x']);
  });

  it('recognises an Amazon 2014 category and asks which one when there are several', async () => {
    const dir = mkdtempSync(join(tmp, 'b-'));
    for (const f of ['reviews_Toys_and_Games_5.json.gz', 'meta_Toys_and_Games.json.gz']) {
      copyFileSync(join(fixtures, f), join(dir, f));
    }
    const ds = await loadDataDir(dir);
    expect([ds.provenance.kind, ds.name, ds.sequences.length]).toEqual(['amazon2014', 'toys_and_games', 6]);
    await expect(loadDataDir(fixtures)).rejects.toThrow(/pass a category/);
    expect((await loadDataDir(fixtures, { category: 'Sports_and_Outdoors' })).numItems).toBe(5);
    await expect(loadDataDir(tmp)).rejects.toBeInstanceOf(DatasetError);
  });
});
