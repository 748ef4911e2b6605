import { join } from 'node:path';
import { sharedDir } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { loadItemEmbeddings } from './item-embeddings.js';

const beauty = sharedDir('datasets', 'beauty');

describe('loadItemEmbeddings on the authors’ table', () => {
  it.skipIf(!beauty.path)('reads sasrec_item_emb.f32 + .json with the README’s figures', async () => {
    const t = await loadItemEmbeddings(join(beauty.path!, 'sasrec_item_emb.f32'));
    expect([t.format, t.matrix.rows, t.matrix.cols, t.numItems, t.dim]).toEqual([
      'f32',
      12_087,
      64,
      12_086,
      64,
    ]);
    const norm = (r: number) => Math.hypot(...t.matrix.data.subarray(r * 64, (r + 1) * 64));
    // The README: padding row norm 0.1002; item 1517 has the smallest norm (0.7961), item 3030 the largest (2.8485).
    expect(norm(0)).toBeCloseTo(0.1002, 4);
    expect(norm(1517)).toBeCloseTo(0.7961, 4);
    expect(norm(3030)).toBeCloseTo(2.8485, 4);
  });

  it('refuses a file that is neither .safetensors nor .f32', async () => {
    await expect(loadItemEmbeddings('/tmp/table.npy')).rejects.toThrow(/expected a \.safetensors table/);
  });
});
