import { gatherRows, Module, type Rng, ShapeError, stopGradient, tf } from '@mmesid/tensor';
import { nearestCodes } from './distance.js';
import { sumAll } from './sum-tensors.js';
import { VectorQuantizer } from './vector-quantizer.js';

/** Options of {@link ResidualQuantizer}. */
export interface ResidualQuantizerOptions {
  levels: number;
  codebookSize: number;
  eDim: number;
  /** Seeded uniform init of the codebooks in [-1/K, 1/K]; without it they start at zero (k-means or a state dict fills them). */
  rng?: Rng;
}

/** Options of one forward pass of {@link ResidualQuantizer}. */
export interface QuantizeOptions {
  /** beta of Eq. 5. */
  beta: number;
  /** Sinkhorn epsilon per level (0 or missing: nearest code). */
  sinkhornEpsilons?: readonly number[];
  sinkhornIters?: number;
  /** Per-level losses: 'mean' (authors' code) or 'sum' (Eq. 5, TIGER). */
  reduction?: 'mean' | 'sum';
  /** Detach the residual after the first level (authors' code) instead of Eq. 5's r_{l+1} = r_l - e_l. */
  detachResidual?: boolean;
}

/** Output of a forward pass; tensors belong to the caller (or the enclosing tidy). */
export interface QuantizeOutput {
  /** z + sg(q - z): the value of q = sum_l e_{c_l}, with the gradient of z (straight-through estimator). */
  quantized: tf.Tensor2D;
  /** q without the straight-through path (the codes' sum, gradient to the codebooks only). */
  codeSum: tf.Tensor2D;
  /** int32 [B, L] semantic IDs. */
  codes: tf.Tensor2D;
  /** The combined codebook and commitment loss of all levels. */
  loss: tf.Scalar;
}

/**
 * The residual quantiser of RQ-VAE (Zeghidour et al. 2021; TIGER; MME-SID Eq. 2-3): level l
 * quantises the residual r_l left by the levels before it, r_0 = z and r_{l+1} = r_l - e_{c_l};
 * the semantic ID is (c_0, ..., c_{L-1}) and the quantised embedding q = sum_l e_{c_l}.
 * Submodules are `vq_layers.<l>.embedding.weight` [K, eDim], the authors' names.
 *
 * @example
 * const rq = new ResidualQuantizer({ levels: 4, codebookSize: 256, eDim: 64 });
 * await rq.initFromData(z, new Rng(42), 100);
 * const { quantized, codes, loss } = rq.forward(z, { beta: 0.25 });
 * @see MME-SID Eq. 2-3 (residual quantisation), Eq. 5 (codebook + commitment loss)
 */
export class ResidualQuantizer extends Module {
  readonly vqLayers: VectorQuantizer[] = [];
  readonly levels: number;
  readonly codebookSize: number;
  readonly eDim: number;

  constructor(opts: ResidualQuantizerOptions) {
    super();
    this.levels = opts.levels;
    this.codebookSize = opts.codebookSize;
    this.eDim = opts.eDim;
    const holder = this.setModule('vq_layers', new Module());
    for (let l = 0; l < opts.levels; l++) {
      const vq = new VectorQuantizer(
        opts.codebookSize,
        opts.eDim,
        opts.rng ? { rng: opts.rng.fork(`vq${l}`) } : {},
      );
      holder.setModule(String(l), vq);
      this.vqLayers.push(vq);
    }
  }

  /**
   * Quantises latents `z` [B, eDim] through every level.
   *
   * @see MME-SID Eq. 2-3 (residual quantisation) and Eq. 5 (codebook + commitment loss)
   */
  forward(z: tf.Tensor2D, opts: QuantizeOptions): QuantizeOutput {
    if (z.shape[1] !== this.eDim)
      throw new ShapeError(`ResidualQuantizer input: expected [B, ${this.eDim}], got [${z.shape}]`);
    return tf.tidy(() => {
      let residual: tf.Tensor2D = z;
      const parts: tf.Tensor2D[] = [];
      const codes: tf.Tensor1D[] = [];
      const losses: tf.Scalar[] = [];
      this.vqLayers.forEach((vq, l) => {
        const eps = opts.sinkhornEpsilons?.[l] ?? 0;
        const out = vq.forward(residual, {
          beta: opts.beta,
          ...(eps > 0 ? { sinkhornEpsilon: eps, sinkhornIters: opts.sinkhornIters ?? 50 } : {}),
        });
        parts.push(out.quantized);
        codes.push(out.codes);
        losses.push(out.loss);
        const next = tf.sub(residual, out.quantized) as tf.Tensor2D;
        residual = opts.detachResidual ? stopGradient(next) : next;
      });
      const codeSum = sumAll(parts);
      const quantized = tf.add(z, stopGradient(tf.sub(codeSum, z))) as tf.Tensor2D;
      const total = sumAll(losses);
      const loss = (opts.reduction === 'sum' ? total : tf.div(total, losses.length)) as tf.Scalar;
      return { quantized, codeSum, codes: tf.stack(codes, 1) as tf.Tensor2D, loss };
    });
  }

  /**
   * Nearest-code semantic IDs of `z` [N, eDim], level by level, read back as a row-major
   * Int32Array N x L (no Sinkhorn, as the authors assign final IDs). Nothing stays allocated.
   */
  async assign(z: tf.Tensor2D): Promise<Int32Array> {
    const n = z.shape[0];
    const out = new Int32Array(n * this.levels);
    let residual = tf.clone(z);
    try {
      for (let l = 0; l < this.levels; l++) {
        const cb = this.vqLayers[l]!.codebook as unknown as tf.Tensor2D;
        const { index } = await nearestCodes(residual, cb);
        for (let i = 0; i < n; i++) out[i * this.levels + l] = index[i]!;
        if (l + 1 < this.levels) {
          const next = tf.tidy(
            () => tf.sub(residual, gatherRows(cb, tf.tensor1d(index, 'int32'))) as tf.Tensor2D,
          );
          residual.dispose();
          residual = next;
        }
      }
    } finally {
      residual.dispose();
    }
    return out;
  }

  /** q = sum_l e_{c_l} for int32 IDs [N, L]; the caller disposes the [N, eDim] result. */
  lookup(codes: tf.Tensor2D): tf.Tensor2D {
    if (codes.shape[1] !== this.levels)
      throw new ShapeError(
        `ResidualQuantizer.lookup: expected [N, ${this.levels}] codes, got [${codes.shape}]`,
      );
    return tf.tidy(() => {
      const cols = tf.unstack(codes, 1);
      return sumAll(
        this.vqLayers.map((vq, l) =>
          gatherRows(vq.codebook as unknown as tf.Tensor2D, cols[l]! as tf.Tensor1D),
        ),
      ) as tf.Tensor2D;
    });
  }

  /** All codebooks stacked as [L, K, eDim] (a copy; the caller disposes it). */
  codebooks(): tf.Tensor3D {
    return tf.tidy(() => tf.stack(this.vqLayers.map((vq) => vq.codebook)) as tf.Tensor3D);
  }

  /**
   * k-means initialisation of every level on the residuals of all of `z` [N, eDim] (the authors
   * run it once on the whole encoded dataset before training). Level l is seeded by
   * `rng.fork('level<l>')`.
   */
  async initFromData(z: tf.Tensor2D, rng: Rng, iters: number): Promise<void> {
    let residual = tf.clone(z);
    try {
      for (let l = 0; l < this.levels; l++) {
        const next = await this.vqLayers[l]!.initFromData(residual, rng.fork(`level${l}`), iters);
        residual.dispose();
        residual = next;
      }
    } finally {
      residual.dispose();
    }
  }
}
