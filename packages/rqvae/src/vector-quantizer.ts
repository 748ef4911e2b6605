import { gatherRows, Module, type Rng, ShapeError, stopGradient, tf } from '@mmesid/tensor';
import { nearestCodes, squaredDistances } from './distance.js';
import { kmeans } from './kmeans.js';
import { sinkhornAssign } from './sinkhorn.js';

/** A codebook of K codes of width eDim, named `embedding.weight` [K, eDim] as in the authors' `VectorQuantizer`. */
class CodebookTable extends Module {
  readonly weight: tf.Variable;
  constructor(k: number, eDim: number, init: tf.Tensor) {
    super();
    this.weight = this.param('weight', init);
    if (this.weight.shape[0] !== k || this.weight.shape[1] !== eDim)
      throw new ShapeError(`codebook init: expected [${k}, ${eDim}], got [${this.weight.shape}]`);
  }
}

/** What one quantisation level returns; every tensor belongs to the caller (or the enclosing tidy). */
export interface LevelOutput {
  /** Chosen code per row, int32 [B]. */
  codes: tf.Tensor1D;
  /** The chosen code vectors e_c, [B, eDim] (differentiable in the codebook). */
  quantized: tf.Tensor2D;
  /** ||sg(r) - e||^2 + beta ||r - sg(e)||^2, each a mean over elements (MME-SID Eq. 5). */
  loss: tf.Scalar;
}

/**
 * One level of the residual quantiser: a codebook of K codes and a nearest-code (or Sinkhorn)
 * assignment. Codes start at zero until `initFromData` (k-means) or a state dict fills them, or
 * uniformly in [-1/K, 1/K] as the authors' code does without k-means.
 * @see MME-SID Eq. 5 (codebook + commitment loss of one level)
 */
export class VectorQuantizer extends Module {
  readonly embedding: CodebookTable;

  constructor(
    readonly codebookSize: number,
    readonly eDim: number,
    opts: { rng?: Rng } = {},
  ) {
    super();
    const init = opts.rng
      ? tf.tensor2d(
          opts.rng.fillUniform(new Float32Array(codebookSize * eDim), -1 / codebookSize, 1 / codebookSize),
          [codebookSize, eDim],
        )
      : tf.zeros([codebookSize, eDim]);
    this.embedding = this.setModule('embedding', new CodebookTable(codebookSize, eDim, init));
  }

  /** The live codebook variable [K, eDim] (do not dispose). */
  get codebook(): tf.Variable {
    return this.embedding.weight;
  }

  /**
   * Quantises residuals `r` [B, eDim]. With `sinkhornEpsilon > 0` the assignment is the balanced
   * Sinkhorn one, otherwise the nearest code. `beta` weighs the commitment term.
   *
   * @see MME-SID Eq. 5 (and TIGER, Rajput et al. 2023, Sec. 3.1)
   */
  forward(
    r: tf.Tensor2D,
    opts: { beta: number; sinkhornEpsilon?: number; sinkhornIters?: number },
  ): LevelOutput {
    if (r.shape[1] !== this.eDim)
      throw new ShapeError(`VectorQuantizer input: expected [B, ${this.eDim}], got [${r.shape}]`);
    return tf.tidy(() => {
      const e = this.codebook as unknown as tf.Tensor2D;
      const { codes, quantized: q } = chooseCodes(r, e, opts.sinkhornEpsilon ?? 0, opts.sinkhornIters ?? 50);
      const codebookLoss = tf.mean(tf.square(tf.sub(stopGradient(r), q)));
      const commitment = tf.mean(tf.square(tf.sub(r, stopGradient(q))));
      const loss = tf.add(codebookLoss, tf.mul(commitment, opts.beta)) as tf.Scalar;
      return { codes, quantized: q, loss };
    });
  }

  /**
   * Sets the codebook by k-means++ then Lloyd k-means on `residuals` [N, eDim] (all items, as the
   * authors' `vq_init`), seeded by `rng`. Returns the residuals left after this level (nearest
   * code), for the next level's initialisation; the caller disposes them.
   */
  async initFromData(residuals: tf.Tensor2D, rng: Rng, iters: number): Promise<tf.Tensor2D> {
    const { centroids } = await kmeans(residuals, { k: this.codebookSize, rng, iters });
    this.codebook.assign(centroids);
    const { index } = await nearestCodes(residuals, centroids);
    const next = tf.tidy(
      () => tf.sub(residuals, gatherRows(centroids, tf.tensor1d(index, 'int32'))) as tf.Tensor2D,
    );
    centroids.dispose();
    return next;
  }
}

/**
 * The chosen codes of `r` and their vectors e_c, as one custom-gradient op: the forward pass
 * (distances, argmin or Sinkhorn, lookup) is not recorded on the tape, so no integer tensor
 * (the codes) ever sits on a differentiated path, where tfjs would reject gather's int32 index
 * gradient. The gradient goes to the codebook rows that were chosen (one-hot^T dy) and none to
 * `r`, since the choice of codes is piecewise constant in `r`. The codes come back as a separate
 * tensor that no gradient reaches.
 */
function chooseCodes(
  r: tf.Tensor2D,
  e: tf.Tensor2D,
  sinkhornEpsilon: number,
  sinkhornIters: number,
): { codes: tf.Tensor1D; quantized: tf.Tensor2D } {
  const k = e.shape[0];
  const held: { codes?: tf.Tensor1D } = {};
  const lookup = tf.customGrad(((rIn: tf.Tensor2D, eIn: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const d = squaredDistances(rIn, eIn);
    const codes =
      sinkhornEpsilon > 0
        ? sinkhornAssign(d, { epsilon: sinkhornEpsilon, iters: sinkhornIters })
        : (tf.argMin(d, 1) as tf.Tensor1D);
    // Kept: the forward pass runs inside a tidy of tfjs's that would free it; the caller disposes it.
    held.codes = tf.keep(codes);
    save([codes]);
    return {
      value: gatherRows(eIn, codes),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const oneHot = tf.cast(tf.oneHot(saved[0] as tf.Tensor1D, k), 'float32');
        return [tf.zerosLike(rIn), tf.matMul(oneHot as tf.Tensor2D, dy as tf.Tensor2D, true, false)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const quantized = lookup(r, e) as tf.Tensor2D;
  const codes = tf.clone(held.codes!);
  held.codes!.dispose();
  return { codes, quantized };
}
