import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { matrixRow } from './dataset.js';
import {
  decodeEmbedding,
  embeddingMetaPath,
  loadEmbedding,
  parseEmbeddingMeta,
  saveEmbedding,
} from './embedding.js';
import { EmbeddingFileError } from './errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'mmesid-emb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('embedding files (*.f32 + *.json)', () => {
  it('reads little-endian float32 rows', async () => {
    const bytes = Buffer.alloc(3 * 2 * 4);
    [0, 0.5, -1, 2, 1e-3, 3.25].forEach((v, i) => {
      bytes.writeFloatLE(v, i * 4);
    });
    writeFileSync(join(tmp, 'e.f32'), bytes);
    writeFileSync(
      join(tmp, 'e.json'),
      JSON.stringify({ rows: 3, cols: 2, dtype: 'float32', order: 'row-major', source: 'x' }),
    );
    const m = await loadEmbedding(join(tmp, 'e.f32'));
    expect([m.rows, m.cols]).toEqual([3, 2]);
    expect(Array.from(matrixRow(m, 1))).toEqual([-1, 2]);
    expect(m.data[4]).toBeCloseTo(1e-3, 9);
    expect(() => matrixRow(m, 3)).toThrow(RangeError);
  });

  it('rejects a byte count that does not match the JSON, naming both files', async () => {
    writeFileSync(join(tmp, 'bad.f32'), Buffer.alloc(20));
    writeFileSync(join(tmp, 'bad.json'), JSON.stringify({ rows: 3, cols: 2, dtype: 'float32' }));
    const p = loadEmbedding(join(tmp, 'bad.f32'));
    await expect(p).rejects.toBeInstanceOf(EmbeddingFileError);
    await expect(p).rejects.toThrow(
      `${join(tmp, 'bad.f32')}: has 20 bytes, but ${join(tmp, 'bad.json')} says 3 x 2 float32 = 24 bytes`,
    );
  });

  it('rejects a bad description', async () => {
    expect(() => parseEmbeddingMeta({ rows: 3, cols: 2, dtype: 'float16' }, 'x.json')).toThrow(
      /x\.json: .*dtype/,
    );
    expect(() => parseEmbeddingMeta({ rows: -1, cols: 2, dtype: 'float32' }, 'x.json')).toThrow(
      EmbeddingFileError,
    );
    writeFileSync(join(tmp, 'nojson.f32'), Buffer.alloc(4));
    writeFileSync(join(tmp, 'nojson.json'), '{rows: 1');
    await expect(loadEmbedding(join(tmp, 'nojson.f32'))).rejects.toThrow(/not valid JSON/);
    expect(() =>
      decodeEmbedding(new Uint8Array(3), { rows: 1, cols: 1, dtype: 'float32', order: 'row-major' }),
    ).toThrow(EmbeddingFileError);
  });

  it('round-trips through saveEmbedding', async () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.5);
    await saveEmbedding(join(tmp, 'rt.f32'), { rows: 4, cols: 3, data }, { source: 'test' });
    expect(embeddingMetaPath(join(tmp, 'rt.f32'))).toBe(join(tmp, 'rt.json'));
    const back = await loadEmbedding(join(tmp, 'rt.f32'));
    expect(back.data).toEqual(data);
  });
});
