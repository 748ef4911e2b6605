import { nodeBuiltins } from '@mmesid/core';
import { z } from 'zod';
import type { Matrix } from './dataset.js';
import { EmbeddingFileError } from './errors.js';

/**
 * The JSON that describes a bare `*.f32` matrix file, e.g. the authors' SASRec table
 * `{"rows":12087,"cols":64,"dtype":"float32","order":"row-major","source":…}`. Extra keys are kept.
 */
export const EmbeddingMetaSchema = z.looseObject({
  rows: z.number().int().positive(),
  cols: z.number().int().positive(),
  dtype: z.literal('float32'),
  order: z.literal('row-major').default('row-major'),
});

/** A parsed embedding description (see {@link EmbeddingMetaSchema}). */
export type EmbeddingMeta = z.infer<typeof EmbeddingMetaSchema>;

/** File names for error messages. */
export interface EmbeddingSource {
  readonly file?: string;
  readonly metaFile?: string;
}

/**
 * Checks an embedding description (the parsed JSON) and returns it typed.
 * @throws {EmbeddingFileError} naming the JSON file and the fields that are wrong.
 */
export function parseEmbeddingMeta(json: unknown, metaFile = '<embedding json>'): EmbeddingMeta {
  const r = EmbeddingMetaSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new EmbeddingFileError(
      { file: metaFile },
      `not a valid embedding description (${issues}); expected {"rows","cols","dtype":"float32","order":"row-major"}`,
    );
  }
  return r.data;
}

/**
 * Turns the bytes of a bare little-endian float32 row-major file into a {@link Matrix}, checking
 * the byte count against `rows * cols * 4` from its description. The result owns a fresh buffer.
 * @throws {EmbeddingFileError} when the byte count does not match, naming both files.
 */
export function decodeEmbedding(
  bytes: Uint8Array,
  meta: EmbeddingMeta,
  source: EmbeddingSource = {},
): Matrix {
  const expected = meta.rows * meta.cols * 4;
  if (bytes.byteLength !== expected) {
    throw new EmbeddingFileError(
      { file: source.file ?? '<embedding>' },
      `has ${bytes.byteLength} bytes, but ${source.metaFile ?? 'its description'} says ${meta.rows} x ${meta.cols} ` +
        `float32 = ${expected} bytes`,
    );
  }
  const data = new Float32Array(meta.rows * meta.cols);
  if (LITTLE_ENDIAN) {
    new Uint8Array(data.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  }
  return { rows: meta.rows, cols: meta.cols, data };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The description file that belongs to a `*.f32` file: the same path ending in `.json`. */
export function embeddingMetaPath(f32Path: string): string {
  return f32Path.endsWith('.f32') ? `${f32Path.slice(0, -4)}.json` : `${f32Path}.json`;
}

/**
 * Reads a `*.f32` matrix and the `*.json` beside it (or `metaPath`), e.g. the authors' pre-trained
 * SASRec item table `sasrec_item_emb.f32`: row i is item id i, row 0 is padding.
 *
 * @example
 * const emb = await loadEmbedding('/data/beauty/sasrec_item_emb.f32');
 * emb.rows; // 12087 (= numItems + 1)
 * matrixRow(emb, 1); // item 1's 64 values
 */
export async function loadEmbedding(
  f32Path: string,
  options: { readonly metaPath?: string } = {},
): Promise<Matrix> {
  const { fsp } = await nodeBuiltins();
  const metaFile = options.metaPath ?? embeddingMetaPath(f32Path);
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await fsp.readFile(file);
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      throw new EmbeddingFileError({ file }, `cannot read (${code ?? (cause as Error).message})`, { cause });
    }
  };
  const metaText = (await read(metaFile)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(metaText);
  } catch (cause) {
    throw new EmbeddingFileError({ file: metaFile, line: 1 }, `not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  const meta = parseEmbeddingMeta(json, metaFile);
  const bytes = await read(f32Path);
  return decodeEmbedding(bytes, meta, { file: f32Path, metaFile });
}

/**
 * Writes a {@link Matrix} as a bare little-endian float32 file plus its JSON description (the
 * authors' layout), so a table exported here reads back with {@link loadEmbedding} or numpy's
 * `np.fromfile(path, '<f4').reshape(rows, cols)`.
 */
export async function saveEmbedding(
  f32Path: string,
  matrix: Matrix,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const { fsp } = await nodeBuiltins();
  if (matrix.data.length !== matrix.rows * matrix.cols) {
    throw new RangeError(
      `saveEmbedding: data has ${matrix.data.length} values, not ${matrix.rows} x ${matrix.cols}`,
    );
  }
  const bytes = new Uint8Array(matrix.data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < matrix.data.length; i++) view.setFloat32(i * 4, matrix.data[i]!, true);
  await fsp.writeFile(f32Path, bytes);
  const meta = { ...extra, rows: matrix.rows, cols: matrix.cols, dtype: 'float32', order: 'row-major' };
  await fsp.writeFile(embeddingMetaPath(f32Path), `${JSON.stringify(meta)}\n`);
}
