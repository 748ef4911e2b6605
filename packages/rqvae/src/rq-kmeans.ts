import { MmesidError, Module, Rng, ShapeError, tf } from '@mmesid/tensor';
import { parseRqKMeansConfig, type RqKMeansConfig, type RqKMeansConfigInput } from './config.js';
import { checkInputs, type EmbeddingMatrix, type ModalityInputs, toTensor } from './data.js';
import { readMatrix } from './mm-rqvae.js';
import { ResidualQuantizer } from './residual-quantizer.js';
import type { SemanticIdTokenizer } from './semantic-id-tokenizer.js';

/**
 * RQ-KMeans: residual k-means directly on each modality's item embeddings, with no encoder and no
 * decoder (the tokenizer GRID and OneRec offer). Level 0 clusters the embeddings into K codes,
 * level l clusters what the levels before it left; an item's semantic ID is its nearest code per
 * level. It is the baseline every report puts beside the MM-RQ-VAE: the same interface, the same
 * statistics, and its codes live in the input space (latentDim = inputDim), so "quantised" and
 * "reconstructed" coincide.
 *
 * State: `<modality>.rq.vq_layers.<l>.embedding.weight` [K, inputDim], not trainable.
 *
 * @example
 * const rqk = new RQKMeans({ modalities: [{ name: 'collaborative', inputDim: 64 }] });
 * await rqk.fit({ collaborative: table });
 * const ids = await rqk.assign({ collaborative: table });
 */
export class RQKMeans extends Module implements SemanticIdTokenizer {
  readonly kind = 'rq-kmeans' as const;
  readonly config: RqKMeansConfig;
  private readonly quantizers = new Map<string, ResidualQuantizer>();
  private fitted = false;

  constructor(config: RqKMeansConfigInput) {
    super();
    this.config = parseRqKMeansConfig(config);
    for (const m of this.config.modalities) {
      const holder = this.setModule(m.name, new Module());
      const rq = new ResidualQuantizer({
        levels: this.config.levels,
        codebookSize: this.config.codebookSize,
        eDim: m.inputDim,
      });
      holder.setModule('rq', rq);
      rq.setTrainable(false);
      this.quantizers.set(m.name, rq);
    }
  }

  get modalities(): string[] {
    return this.config.modalities.map((m) => m.name);
  }

  get levels(): number {
    return this.config.levels;
  }

  get codebookSize(): number {
    return this.config.codebookSize;
  }

  latentDim(modality: string): number {
    return this.quantizer(modality).eDim;
  }

  quantizer(name: string): ResidualQuantizer {
    const q = this.quantizers.get(name);
    if (!q) throw new ShapeError(`RQKMeans: no modality "${name}" (have ${this.modalities.join(', ')})`);
    return q;
  }

  /** Fits every level of every modality by k-means++ then Lloyd on the residuals (seeded by the config seed). */
  async fit(inputs: ModalityInputs): Promise<{ seconds: number }> {
    checkInputs(inputs, this.config.modalities, 'RQKMeans.fit');
    const t0 = performance.now();
    const rng = new Rng(`${this.config.seed}:rq-kmeans`);
    for (const m of this.config.modalities) {
      const x = toTensor(inputs[m.name]!);
      try {
        await this.quantizer(m.name).initFromData(x, rng.fork(m.name), this.config.kmeansIters);
      } finally {
        x.dispose();
      }
    }
    this.fitted = true;
    return { seconds: (performance.now() - t0) / 1000 };
  }

  /** Marks the codebooks as set (after `loadStateDict`). */
  markFitted(): void {
    this.fitted = true;
  }

  async assign(inputs: ModalityInputs): Promise<Record<string, Int32Array>> {
    this.checkFitted('assign');
    checkInputs(inputs, this.config.modalities, 'RQKMeans.assign');
    const out: Record<string, Int32Array> = {};
    for (const m of this.config.modalities) {
      const x = toTensor(inputs[m.name]!);
      try {
        out[m.name] = await this.quantizer(m.name).assign(x);
      } finally {
        x.dispose();
      }
    }
    return out;
  }

  async quantize(inputs: ModalityInputs): Promise<Record<string, EmbeddingMatrix>> {
    const ids = await this.assign(inputs);
    const out: Record<string, EmbeddingMatrix> = {};
    for (const m of this.config.modalities) {
      const n = inputs[m.name]!.rows;
      const q = tf.tidy(() =>
        this.quantizer(m.name).lookup(tf.tensor2d(ids[m.name]!, [n, this.levels], 'int32')),
      );
      out[m.name] = await readMatrix(q);
    }
    return out;
  }

  /** The same as `quantize`: the codes already live in the input space. */
  reconstruct(inputs: ModalityInputs): Promise<Record<string, EmbeddingMatrix>> {
    return this.quantize(inputs);
  }

  codebooks(): Record<string, tf.Tensor3D> {
    const out: Record<string, tf.Tensor3D> = {};
    for (const m of this.config.modalities) out[m.name] = this.quantizer(m.name).codebooks();
    return out;
  }

  private checkFitted(what: string): void {
    if (!this.fitted)
      throw new MmesidError(`RQKMeans.${what}: call fit() (or load a state dict and markFitted()) first`);
  }
}
