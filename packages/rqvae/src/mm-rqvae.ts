import { kaimingNormal, MLP, Module, Rng, ShapeError, tf, xavierNormal } from '@mmesid/tensor';
import { alignmentLoss } from './alignment.js';
import { parseRqvaeConfig, type RqvaeConfig, type RqvaeConfigInput } from './config.js';
import { checkInputs, type EmbeddingMatrix, type ModalityInputs, sliceRows, toTensor } from './data.js';
import { reconstructionLoss } from './reconstruction.js';
import { ResidualQuantizer } from './residual-quantizer.js';
import type { SemanticIdTokenizer } from './semantic-id-tokenizer.js';
import { sumAll } from './sum-tensors.js';

/** Encoder, residual quantiser and decoder of one modality (`<name>.encoder`, `<name>.rq`, `<name>.decoder`). */
export class ModalityBranch extends Module {
  readonly encoder: MLP;
  readonly rq: ResidualQuantizer;
  readonly decoder: MLP;

  constructor(inputDim: number, cfg: RqvaeConfig, rng: Rng | null) {
    super();
    const sizes = [inputDim, ...cfg.hiddenLayers, cfg.eDim];
    const mlp = (s: number[], label: string) => {
      // Dropout masks need a seeded stream even when the weights will come from a state dict.
      const r = rng ? rng.fork(label) : new Rng(`${cfg.seed}:${label}:dropout`);
      const m = new MLP(s, {
        activation: cfg.activation,
        ...(cfg.dropout > 0 ? { dropout: cfg.dropout } : {}),
        rng: r,
        ...(rng && cfg.init === 'kaiming_uniform' ? {} : { skipInit: true }),
      });
      if (rng && cfg.init !== 'kaiming_uniform') {
        const init = cfg.init === 'xavier_normal' ? xavierNormal() : kaimingNormal();
        for (const layer of m.layers) {
          const w = init(layer.weight.shape, r);
          layer.weight.assign(w);
          w.dispose();
        }
      }
      return m;
    };
    this.encoder = this.setModule('encoder', mlp(sizes, 'encoder'));
    this.rq = this.setModule(
      'rq',
      new ResidualQuantizer({
        levels: cfg.levels,
        codebookSize: cfg.codebookSize,
        eDim: cfg.eDim,
        // Without k-means the authors start codebooks uniform in [-1/K, 1/K].
        ...(rng && !cfg.kmeansInit ? { rng: rng.fork('rq') } : {}),
      }),
    );
    this.decoder = this.setModule('decoder', mlp([...sizes].reverse(), 'decoder'));
  }
}

/** The loss of one batch and its parts, as scalar tensors (owned by the caller or the enclosing tidy). */
export interface RqvaeLosses {
  /** recon weight * sum of reconstruction + quant weight * sum of quantisation + align weight * sum of alignment. */
  total: tf.Scalar;
  reconstruction: Record<string, tf.Scalar>;
  quantization: Record<string, tf.Scalar>;
  /** One entry per non-anchor modality (empty with a single modality or alignment 'none'). */
  alignment: Record<string, tf.Scalar>;
}

/** Options of the batched read-out methods. */
export interface ReadOptions {
  /** Rows per forward pass (default 4096). */
  batchSize?: number;
}

/**
 * MM-RQ-VAE (MME-SID Sec. 3.2): per modality an MLP encoder to an eDim latent, a residual quantiser
 * of L levels x K codes and an MLP decoder back to the input width; trained with a reconstruction
 * loss (MMD, Eq. 4, or MSE), the codebook/commitment loss (Eq. 5) and an alignment loss between the
 * anchor modality's quantised embedding and every other modality's (InfoNCE, Eq. 6, or MMD),
 * summed as in Eq. 7.
 *
 * Parameter names: `<modality>.encoder.layers.<i>.weight`, `<modality>.rq.vq_layers.<l>.embedding.weight`,
 * `<modality>.decoder.layers.<i>.weight`.
 *
 * Memory: the model owns its variables (`dispose()` frees them). Read-out methods return plain
 * typed arrays and leave no tensor behind.
 *
 * @example
 * const model = new MMRQVAE({ modalities: [{ name: 'collaborative', inputDim: 64 }], eDim: 64 });
 * await trainRqvae(model, { collaborative: sasrecTable }, { maxEpochs: 500 });
 * const ids = await model.assign({ collaborative: sasrecTable }); // { collaborative: Int32Array N x 4 }
 * @see MME-SID Eq. 7 (the MM-RQ-VAE loss: reconstruction Eq. 4 + quantisation Eq. 5 + alignment Eq. 6)
 */
export class MMRQVAE extends Module implements SemanticIdTokenizer {
  readonly kind = 'mm-rqvae' as const;
  readonly config: RqvaeConfig;
  readonly branches = new Map<string, ModalityBranch>();

  /** `skipInit` builds zero weights for a state dict to fill (no random init). */
  constructor(config: RqvaeConfigInput, opts: { skipInit?: boolean } = {}) {
    super();
    this.config = parseRqvaeConfig(config);
    const rng = opts.skipInit ? null : new Rng(this.config.seed);
    for (const m of this.config.modalities) {
      const branch = new ModalityBranch(m.inputDim, this.config, rng ? rng.fork(m.name) : null);
      this.branches.set(m.name, this.setModule(m.name, branch));
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

  latentDim(_modality: string): number {
    return this.config.eDim;
  }

  branch(name: string): ModalityBranch {
    const b = this.branches.get(name);
    if (!b) throw new ShapeError(`MMRQVAE: no modality "${name}" (have ${this.modalities.join(', ')})`);
    return b;
  }

  /**
   * Every loss term on one batch (rows i of every modality are the same item). `sinkhorn` applies
   * the configured per-level Sinkhorn epsilons (training); without it codes are nearest codes.
   *
   * @see MME-SID Eq. 7 (total), Eq. 4 (MMD reconstruction), Eq. 5 (quantisation), Eq. 6 (alignment)
   */
  losses(batch: Readonly<Record<string, tf.Tensor2D>>, opts: { sinkhorn?: boolean } = {}): RqvaeLosses {
    const cfg = this.config;
    return tf.tidy(() => {
      const reconstruction: Record<string, tf.Scalar> = {};
      const quantization: Record<string, tf.Scalar> = {};
      const alignment: Record<string, tf.Scalar> = {};
      const quantized: Record<string, tf.Tensor2D> = {};
      for (const m of cfg.modalities) {
        const x = batch[m.name];
        if (!x)
          throw new ShapeError(
            `MMRQVAE.losses: the batch has no "${m.name}" (got ${Object.keys(batch).join(', ')})`,
          );
        const b = this.branch(m.name);
        const z = b.encoder.forward(x) as tf.Tensor2D;
        const out = b.rq.forward(z, {
          beta: cfg.commitmentWeight,
          reduction: cfg.levelLossReduction,
          detachResidual: cfg.detachResidual,
          ...(opts.sinkhorn
            ? { sinkhornEpsilons: cfg.sinkhornEpsilons, sinkhornIters: cfg.sinkhornIters }
            : {}),
        });
        const xHat = b.decoder.forward(out.quantized) as tf.Tensor2D;
        reconstruction[m.name] = reconstructionLoss(xHat, x, {
          kind: cfg.reconstruction,
          alpha: cfg.mmdAlpha,
          estimator: cfg.mmdEstimator,
        });
        quantization[m.name] = out.loss;
        quantized[m.name] = out.quantized;
      }
      const anchor = cfg.modalities[0]!.name;
      if (cfg.alignment !== 'none') {
        for (const m of cfg.modalities.slice(1)) {
          alignment[m.name] = alignmentLoss(quantized[anchor]!, quantized[m.name]!, {
            kind: cfg.alignment,
            temperature: cfg.temperature,
            alpha: cfg.mmdAlpha,
            estimator: cfg.mmdEstimator,
          });
        }
      }
      const terms: tf.Tensor[] = [
        tf.mul(sumAll(Object.values(reconstruction)), cfg.reconstructionWeight),
        tf.mul(sumAll(Object.values(quantization)), cfg.quantizationWeight),
      ];
      const al = Object.values(alignment);
      if (al.length) terms.push(tf.mul(sumAll(al), cfg.alignmentWeight));
      return { total: sumAll(terms) as tf.Scalar, reconstruction, quantization, alignment };
    });
  }

  /**
   * k-means++/Lloyd initialisation of every level of every modality on the residuals of all items'
   * encodings (the authors' `vq_initialization` on the whole dataset). Seeded by the config seed.
   */
  async initCodebooks(inputs: ModalityInputs, opts: ReadOptions = {}): Promise<void> {
    checkInputs(inputs, this.config.modalities, 'MMRQVAE.initCodebooks');
    const rng = new Rng(`${this.config.seed}:kmeans`);
    for (const m of this.config.modalities) {
      const z = await this.encodeTensor(m.name, inputs[m.name]!, opts);
      try {
        await this.branch(m.name).rq.initFromData(z, rng.fork(m.name), this.config.kmeansIters);
      } finally {
        z.dispose();
      }
    }
  }

  /** Semantic IDs (nearest codes, no Sinkhorn, as the authors' `generate_indices`): per modality a row-major Int32Array N x L. */
  async assign(inputs: ModalityInputs, opts: ReadOptions = {}): Promise<Record<string, Int32Array>> {
    checkInputs(inputs, this.config.modalities, 'MMRQVAE.assign');
    const out: Record<string, Int32Array> = {};
    for (const m of this.config.modalities) {
      const z = await this.encodeTensor(m.name, inputs[m.name]!, opts);
      try {
        out[m.name] = await this.branch(m.name).rq.assign(z);
      } finally {
        z.dispose();
      }
    }
    return out;
  }

  /** Encoder outputs z (N x eDim) per modality. */
  async encode(inputs: ModalityInputs, opts: ReadOptions = {}): Promise<Record<string, EmbeddingMatrix>> {
    checkInputs(inputs, this.config.modalities, 'MMRQVAE.encode');
    const out: Record<string, EmbeddingMatrix> = {};
    for (const m of this.config.modalities) {
      const z = await this.encodeTensor(m.name, inputs[m.name]!, opts);
      out[m.name] = await readMatrix(z);
    }
    return out;
  }

  /** Quantised embeddings q = sum of each item's codes (N x eDim) per modality: what MME-SID initialises its SID embeddings from. */
  async quantize(inputs: ModalityInputs, opts: ReadOptions = {}): Promise<Record<string, EmbeddingMatrix>> {
    const ids = await this.assign(inputs, opts);
    const out: Record<string, EmbeddingMatrix> = {};
    for (const m of this.config.modalities) {
      const n = inputs[m.name]!.rows;
      const q = tf.tidy(() =>
        this.branch(m.name).rq.lookup(tf.tensor2d(ids[m.name]!, [n, this.levels], 'int32')),
      );
      out[m.name] = await readMatrix(q);
    }
    return out;
  }

  /** Decoder outputs from the quantised embeddings (N x inputDim) per modality. */
  async reconstruct(
    inputs: ModalityInputs,
    opts: ReadOptions = {},
  ): Promise<Record<string, EmbeddingMatrix>> {
    const q = await this.quantize(inputs, opts);
    const out: Record<string, EmbeddingMatrix> = {};
    const bs = opts.batchSize ?? 4096;
    const wasTraining = this.training;
    this.eval();
    try {
      for (const m of this.config.modalities) {
        const qm = q[m.name]!;
        const dim = m.inputDim;
        const data = new Float32Array(qm.rows * dim);
        for (let s = 0; s < qm.rows; s += bs) {
          const part = sliceRows(qm, s, Math.min(qm.rows, s + bs));
          const y = tf.tidy(() => this.branch(m.name).decoder.forward(toTensor(part)));
          data.set((await y.data()) as Float32Array, s * dim);
          y.dispose();
        }
        out[m.name] = { rows: qm.rows, cols: dim, data };
      }
    } finally {
      this.train(wasTraining);
    }
    return out;
  }

  /** Per modality the codebooks as [L, K, eDim] tensors (copies; the caller disposes them). */
  codebooks(): Record<string, tf.Tensor3D> {
    const out: Record<string, tf.Tensor3D> = {};
    for (const m of this.config.modalities) out[m.name] = this.branch(m.name).rq.codebooks();
    return out;
  }

  /** Encodes all rows of one modality in eval mode, batch by batch; the caller disposes the [N, eDim] result. */
  async encodeTensor(name: string, x: EmbeddingMatrix, opts: ReadOptions = {}): Promise<tf.Tensor2D> {
    const bs = opts.batchSize ?? 4096;
    const b = this.branch(name);
    const wasTraining = this.training;
    this.eval();
    try {
      const parts: tf.Tensor2D[] = [];
      for (let s = 0; s < x.rows; s += bs) {
        parts.push(
          tf.tidy(
            () => b.encoder.forward(toTensor(sliceRows(x, s, Math.min(x.rows, s + bs)))) as tf.Tensor2D,
          ),
        );
      }
      if (parts.length === 1) return parts[0]!;
      const all = tf.concat(parts, 0);
      tf.dispose(parts);
      return all;
    } finally {
      this.train(wasTraining);
    }
  }
}

/** Reads a [N, d] tensor into a matrix and disposes it. */
export async function readMatrix(t: tf.Tensor2D): Promise<EmbeddingMatrix> {
  try {
    return { rows: t.shape[0], cols: t.shape[1], data: (await t.data()) as Float32Array };
  } finally {
    t.dispose();
  }
}
