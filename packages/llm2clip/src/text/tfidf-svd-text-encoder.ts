import { ConfigError, decodeSafetensor, openSafetensors, saveSafetensors } from '@mmesid/tensor';
import { inputHash } from '../cache/input-hash.js';
import {
  type BatchEncoding,
  type EncoderInput,
  inputId,
  inputText,
  type MissingInput,
  type ModalityEncoder,
  strictVectors,
} from '../modality-encoder.js';
import { type RandomizedSvdOptions, randomizedSvd } from './randomized-svd.js';
import { type TfidfConfig, TfidfVectorizer, type TfidfVectorizerJson } from './tfidf-vectorizer.js';

/** Options of {@link TfidfSvdTextEncoder.fit}. */
export interface TfidfSvdOptions extends Partial<TfidfConfig>, Omit<RandomizedSvdOptions, 'seed'> {
  /** Output dimension d (number of singular vectors kept). Default 128. */
  dim?: number;
  /** Seed of the randomized SVD (default 0). */
  seed?: number;
}

/**
 * The classical offline text encoder: TF-IDF over word and character n-grams (`TfidfVectorizer`),
 * then a rank-d truncated SVD (latent semantic analysis) fitted on the item titles, computed by seeded
 * randomized subspace iteration in float64 JS (`randomizedSvd`). A text's vector is x V (its TF-IDF
 * row times the d right singular vectors), so an item's vector equals its row of U diag(s).
 *
 * It is NOT LLM2CLIP and lives in no image-aligned space: name it in every report that uses it (its
 * `name` starts with `tfidf-svd(`). No backend, no tfjs: runs anywhere, deterministic for a seed.
 *
 * Gotchas: the vocabulary is the fitted corpus's, so a text made only of unseen n-grams gets the
 * zero vector (a real result, not a missing one); an empty text is reported missing.
 *
 * @example
 * const titles = items.map((i) => i.title!);
 * const enc = TfidfSvdTextEncoder.fit(titles, { dim: 64, seed: 0 });
 * const v = await enc.encode(titles.slice(0, 2)); // 2 x 64
 * await enc.save('cache/beauty.tfidf64.model.safetensors');
 */
export class TfidfSvdTextEncoder implements ModalityEncoder {
  readonly modality = 'text' as const;
  readonly name: string;

  private constructor(
    readonly vectorizer: TfidfVectorizer,
    /** Right singular vectors, [numFeatures, dim] row-major (float32 storage, float64 products). */
    readonly components: Float32Array,
    readonly singularValues: Float64Array,
    /**
     * Per singular pair, ||X X^T u - s^2 u|| / s^2 of the fit (0 = exact): how converged the
     * randomized SVD is. Kept in saved files.
     */
    readonly relativeResiduals: Float64Array,
    readonly dim: number,
    /** What the fit saw and how: goes into `name`, so caches of different fits never mix. */
    readonly fingerprint: string,
  ) {
    const c = vectorizer.config;
    const w = c.wordNgrams ? `word${c.wordNgrams.join('-')}` : 'noword';
    const ch = c.charNgrams ? `charwb${c.charNgrams.join('-')}` : 'nochar';
    this.name = `tfidf-svd(d=${dim},${w},${ch},mindf=${c.minDf},${c.sublinearTf ? 'sublinear' : 'rawtf'},fit=${fingerprint})`;
  }

  /**
   * Fits the vocabulary, idf and the truncated SVD on `texts` (e.g. every item title of the dataset).
   * Cost on Beauty (12,086 titles, d = 128): see the package benchmark.
   *
   * @throws ConfigError when `dim` exceeds min(#texts, #features) or the TF-IDF settings are invalid
   */
  static fit(texts: readonly string[], options: TfidfSvdOptions = {}): TfidfSvdTextEncoder {
    const dim = options.dim ?? 128;
    const seed = options.seed ?? 0;
    const docs = texts.filter((t) => t.trim() !== '');
    if (docs.length === 0) throw new ConfigError('TfidfSvdTextEncoder.fit: every text is empty');
    const { wordNgrams, charNgrams, minDf, sublinearTf } = options;
    const vectorizer = TfidfVectorizer.fit(docs, {
      ...(wordNgrams !== undefined ? { wordNgrams } : {}),
      ...(charNgrams !== undefined ? { charNgrams } : {}),
      ...(minDf !== undefined ? { minDf } : {}),
      ...(sublinearTf !== undefined ? { sublinearTf } : {}),
    });
    const x = vectorizer.transform(docs);
    if (dim > Math.min(x.rows, x.cols))
      throw new ConfigError(`TfidfSvdTextEncoder.fit: dim ${dim} > min(${x.rows} texts, ${x.cols} features)`);
    const svd = randomizedSvd(x, dim, {
      seed,
      ...(options.oversamples !== undefined ? { oversamples: options.oversamples } : {}),
      ...(options.powerIterations !== undefined ? { powerIterations: options.powerIterations } : {}),
    });
    let h = inputHash(`${docs.length}`);
    for (const d of docs) h = inputHash(`${h}:${d}`);
    const fingerprint = `n${docs.length}-${(h >>> 0).toString(16).padStart(8, '0')}-seed${seed}`;
    return new TfidfSvdTextEncoder(
      vectorizer,
      Float32Array.from(svd.v),
      svd.singularValues,
      svd.relativeResiduals,
      dim,
      fingerprint,
    );
  }

  /**
   * Reads an encoder saved by {@link save}: `components` F32 [numFeatures, dim], `singular_values` and
   * `relative_residuals` F64 [dim], vocabulary and settings in the metadata. Node only.
   */
  static async load(path: string): Promise<TfidfSvdTextEncoder> {
    const f = await openSafetensors(path);
    try {
      const meta = f.metadata;
      if (meta.format !== 'mmesid-tfidf-svd/1')
        throw new ConfigError(`${path}: not a TF-IDF + SVD encoder file (metadata format "${meta.format}")`);
      const vectorizer = TfidfVectorizer.fromJSON(JSON.parse(meta.vectorizer!) as TfidfVectorizerJson);
      const comp = decodeSafetensor(await f.readTensorBytes('components'), {
        file: path,
        name: 'components',
        reuseBuffer: true,
      });
      const f64 = async (name: string) =>
        new Float64Array((await f.readTensorBytes(name)).data.slice().buffer);
      const s = await f64('singular_values');
      const residuals = await f64('relative_residuals');
      const [features, dim] = comp.shape as [number, number];
      if (features !== vectorizer.numFeatures)
        throw new ConfigError(
          `${path}: components has ${features} rows but the vocabulary ${vectorizer.numFeatures} features`,
        );
      return new TfidfSvdTextEncoder(
        vectorizer,
        comp.values as Float32Array,
        s,
        residuals,
        dim,
        meta.fingerprint ?? 'unknown',
      );
    } finally {
      await f.close();
    }
  }

  /** Saves the fitted encoder (safetensors, atomic) so a later run encodes identically without refitting. */
  async save(path: string): Promise<void> {
    await saveSafetensors(
      path,
      {
        components: { data: this.components, shape: [this.vectorizer.numFeatures, this.dim], dtype: 'F32' },
        singular_values: { data: this.singularValues, shape: [this.dim], dtype: 'F64' },
        relative_residuals: { data: this.relativeResiduals, shape: [this.dim], dtype: 'F64' },
      },
      {
        metadata: {
          format: 'mmesid-tfidf-svd/1',
          name: this.name,
          fingerprint: this.fingerprint,
          vectorizer: JSON.stringify(this.vectorizer.toJSON()),
        },
      },
    );
  }

  async encodeBatch(batch: readonly EncoderInput[]): Promise<BatchEncoding> {
    const missing: MissingInput[] = [];
    const texts: string[] = [];
    const rows: number[] = [];
    batch.forEach((input, i) => {
      const t = inputText(input);
      const id = inputId(input);
      if (t === undefined || t.trim() === '')
        missing.push({ index: i, ...(id !== undefined ? { id } : {}), reason: 'empty text' });
      else {
        texts.push(t);
        rows.push(i);
      }
    });
    const x = this.vectorizer.transform(texts);
    const d = this.dim;
    const vectors = new Float32Array(batch.length * d);
    const acc = new Float64Array(d);
    rows.forEach((r, i) => {
      acc.fill(0);
      for (let p = x.ptr[i]!; p < x.ptr[i + 1]!; p++) {
        const v = x.vals[p]!;
        const o = x.idx[p]! * d;
        for (let j = 0; j < d; j++) acc[j] = acc[j]! + v * this.components[o + j]!;
      }
      vectors.set(acc, r * d);
    });
    return { vectors, missing };
  }

  async encode(batch: readonly EncoderInput[]): Promise<Float32Array> {
    return strictVectors(this.name, await this.encodeBatch(batch));
  }

  /** Nothing to free (no tensors). */
  dispose(): void {}
}
