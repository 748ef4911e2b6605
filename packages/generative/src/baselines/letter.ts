import { type EmbeddingMatrix, ResidualQuantizer, sinkhornAssign, squaredDistances } from '@mmesid/rqvae';
import { AdamW, ConfigError, Linear, MLP, Module, Rng, ShapeError, Trainer, tf } from '@mmesid/tensor';
import {
  balancedClusters,
  collaborativeAlignmentLoss,
  diversityLoss,
  samplePositives,
} from './letter-losses.js';

/** LETTER's tokenizer settings (defaults: LETTER's released configuration where we know it). */
export interface LetterConfig {
  /** Width of the semantic input (text embedding). */
  inputDim: number;
  /** Width of the collaborative (SASRec) embedding it is aligned to. */
  cfDim: number;
  /** Code width (default 32). */
  eDim?: number;
  /** Encoder hidden widths, mirrored by the decoder (default [512, 256, 128]). */
  hidden?: readonly number[];
  levels?: number;
  codebookSize?: number;
  /** Weight of the collaborative loss (default 0.02). */
  alpha?: number;
  /** Weight of the diversity loss (default 1e-4). */
  beta?: number;
  /** Commitment weight of the quantiser (default 0.25). */
  mu?: number;
  /** Clusters per codebook for the diversity loss (default 10). */
  clusters?: number;
  seed?: number;
}

/** One step's loss terms. */
export interface LetterLosses {
  total: tf.Scalar;
  reconstruction: tf.Scalar;
  quantization: tf.Scalar;
  collaborative: tf.Scalar;
  diversity: tf.Scalar;
}

/**
 * LETTER's learnable item tokenizer: an RQ-VAE (MLP encoder, `@mmesid/rqvae`'s residual quantiser,
 * MLP decoder) trained with three regularisers: semantic (reconstruction + quantisation), collaborative
 * (the quantised embedding, mapped by `cf_proj` to the SASRec width, aligned to the item's SASRec
 * embedding by an in-batch contrastive loss) and diversity (codes clustered per level; residuals pulled
 * toward other codes of their code's cluster). After training, items that still share all codes get
 * their last level re-assigned by Sinkhorn ({@link letterSemanticIds}).
 *
 * `cf_proj` is ours: LETTER's code width and the CF width may differ, so the quantised embedding is
 * mapped linearly before the inner product.
 *
 * @see LETTER (Wang et al., CIKM'24); MME-SID Table 3 (LETTER baseline)
 */
export class LetterTokenizer extends Module {
  readonly config: Required<LetterConfig>;

  constructor(config: LetterConfig) {
    super();
    const c: Required<LetterConfig> = {
      eDim: 32,
      hidden: [512, 256, 128],
      levels: 4,
      codebookSize: 256,
      alpha: 0.02,
      beta: 1e-4,
      mu: 0.25,
      clusters: 10,
      seed: 0,
      ...config,
    };
    if (c.clusters > c.codebookSize)
      throw new ConfigError(`LetterTokenizer: clusters ${c.clusters} exceed codebookSize ${c.codebookSize}`);
    this.config = c;
    const rng = new Rng(`letter:${c.seed}`);
    this.setModule('encoder', new MLP([c.inputDim, ...c.hidden, c.eDim], { rng: rng.fork('enc') }));
    this.setModule(
      'rq',
      new ResidualQuantizer({
        levels: c.levels,
        codebookSize: c.codebookSize,
        eDim: c.eDim,
        rng: rng.fork('rq'),
      }),
    );
    this.setModule(
      'decoder',
      new MLP([c.eDim, ...[...c.hidden].reverse(), c.inputDim], { rng: rng.fork('dec') }),
    );
    this.setModule('cf_proj', new Linear(c.eDim, c.cfDim, { rng: rng.fork('cf'), bias: false }));
    this.buffer('input_mean', tf.zeros([c.inputDim]));
    this.buffer('input_std', tf.ones([c.inputDim]));
  }

  /**
   * Sets the per-dimension standardisation applied before the encoder from the training inputs
   * [N, inputDim] (saved with the state dict). Ours, not LETTER's: with inputs of small scale the
   * encoder's output spread is below one AdamW step and training collapses the codes
   * (measured: 256 distinct first-level codes after k-means init, 2 after five epochs, on 300
   * N(0, 0.1^2) inputs without it).
   */
  fitInputScaling(x: tf.Tensor2D): void {
    const [mean, std] = tf.tidy(() => {
      const m = tf.moments(x, 0);
      return [m.mean, tf.add(tf.sqrt(m.variance), 1e-8)];
    });
    this.buffer('input_mean', mean!);
    this.buffer('input_std', std!);
  }

  get rq(): ResidualQuantizer {
    return this.childModule('rq') as ResidualQuantizer;
  }

  /** Standardised input -> encoder -> latent z [B, eDim]. */
  encode(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const xs = tf.div(tf.sub(x, this._buffers.get('input_mean')!), this._buffers.get('input_std')!);
      return (this.childModule('encoder') as MLP).forward(xs) as tf.Tensor2D;
    });
  }

  /** The input as the decoder reconstructs it (standardised). */
  standardize(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(
      () =>
        tf.div(tf.sub(x, this._buffers.get('input_mean')!), this._buffers.get('input_std')!) as tf.Tensor2D,
    );
  }

  /** k-means initialisation of the codebooks on the encoded inputs (as RQ-VAE training starts). */
  async initCodebooks(x: tf.Tensor2D, iters = 20): Promise<void> {
    const z = tf.tidy(() => this.encode(x));
    try {
      await this.rq.initFromData(z, new Rng(`letter-kmeans:${this.config.seed}`), iters);
    } finally {
      z.dispose();
    }
  }

  /**
   * The loss terms for a batch: `x` [B, inputDim], `cf` [B, cfDim], and for the diversity term the
   * batch's codes (row-major B x L, from {@link assign}) and per-level positives (from
   * `samplePositives`). Differentiable; the total is
   * recon + quantisation + alpha * L_CF + beta * sum_l L_Div(l).
   */
  losses(x: tf.Tensor2D, cf: tf.Tensor2D, codes: Int32Array, positives: readonly Int32Array[]): LetterLosses {
    const { levels: L, alpha, beta, mu } = this.config;
    const B = x.shape[0];
    if (codes.length !== B * L)
      throw new ShapeError(`LetterTokenizer.losses: ${codes.length} codes for ${B} x ${L}`);
    return tf.tidy(() => {
      const z = this.encode(x);
      const q = this.rq.forward(z, { beta: mu });
      const xh = (this.childModule('decoder') as MLP).forward(q.quantized);
      const reconstruction = tf.mean(tf.sum(tf.square(tf.sub(xh, this.standardize(x))), 1)) as tf.Scalar;
      const proj = (this.childModule('cf_proj') as Linear).forward(q.codeSum) as tf.Tensor2D;
      const collaborative = collaborativeAlignmentLoss(proj, cf);
      const cbs = tf.unstack(this.rq.codebooks());
      let residual: tf.Tensor2D = z;
      const divs: tf.Scalar[] = [];
      for (let l = 0; l < L; l++) {
        const lc = Int32Array.from({ length: B }, (_, i) => codes[i * L + l]!);
        divs.push(diversityLoss(residual, cbs[l] as tf.Tensor2D, lc, positives[l]!));
        residual = tf.sub(residual, tf.gather(cbs[l]!, tf.tensor1d(lc, 'int32'))) as tf.Tensor2D;
      }
      const diversity = tf.addN(divs) as tf.Scalar;
      const total = tf.addN([
        reconstruction,
        q.loss,
        tf.mul(collaborative, alpha),
        tf.mul(diversity, beta),
      ]) as tf.Scalar;
      return { total, reconstruction, quantization: q.loss, collaborative, diversity };
    });
  }

  /** Nearest-code IDs (row-major N x L) of inputs [N, inputDim]. */
  async assign(x: tf.Tensor2D): Promise<Int32Array> {
    const z = tf.tidy(() => this.encode(x));
    try {
      return await this.rq.assign(z);
    } finally {
      z.dispose();
    }
  }
}

/** Options of {@link trainLetter}. */
export interface TrainLetterOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Fit the input standardisation and initialise the codebooks by k-means on the encoded data first (default true). */
  kmeansInit?: boolean;
  onEpoch?: (e: { epoch: number; loss: number; collaborative: number; diversity: number }) => void;
}

/**
 * Trains a {@link LetterTokenizer} on item embeddings (`inputs`, N rows) and their SASRec embeddings
 * (`cf`, the same N rows). Each epoch re-clusters every level's codebook (balanced clusters) and
 * re-assigns codes, as LETTER updates its clusters during training. Returns the mean total loss per epoch.
 */
export async function trainLetter(
  tok: LetterTokenizer,
  data: { inputs: EmbeddingMatrix; cf: EmbeddingMatrix },
  opts: TrainLetterOptions = {},
): Promise<number[]> {
  const { inputs, cf } = data;
  const c = tok.config;
  if (inputs.rows !== cf.rows)
    throw new ShapeError(`trainLetter: ${inputs.rows} input rows but ${cf.rows} collaborative rows`);
  if (inputs.cols !== c.inputDim || cf.cols !== c.cfDim)
    throw new ShapeError(
      `trainLetter: inputs are ${inputs.cols}-wide and cf ${cf.cols}-wide, the tokenizer expects ${c.inputDim} and ${c.cfDim}`,
    );
  const N = inputs.rows;
  const X = tf.tensor2d(inputs.data, [N, inputs.cols]);
  const H = tf.tensor2d(cf.data, [N, cf.cols]);
  const optimizer = new AdamW(tok.trainableParameters(), { lr: opts.lr ?? 1e-3, weightDecay: 0 });
  const trainer = new Trainer({ optimizer });
  const rng = new Rng(`letter-train:${c.seed}`);
  const B = opts.batchSize ?? 1024;
  const out: number[] = [];
  try {
    if (opts.kmeansInit ?? true) {
      tok.fitInputScaling(X);
      await tok.initCodebooks(X);
    }
    for (let epoch = 0; epoch < (opts.epochs ?? 1); epoch++) {
      const codes = await tok.assign(X);
      const cbT = tok.rq.codebooks();
      const cb = (await cbT.data()) as Float32Array;
      cbT.dispose();
      const per = c.codebookSize * c.eDim;
      const clusters = Array.from({ length: c.levels }, (_, l) =>
        balancedClusters(
          cb.subarray(l * per, (l + 1) * per),
          c.codebookSize,
          c.clusters,
          rng.fork(`c${epoch}:${l}`),
        ),
      );
      const order = rng.shuffle(Array.from({ length: N }, (_, i) => i));
      let sum = 0;
      let sumCf = 0;
      let sumDiv = 0;
      let n = 0;
      for (let s = 0; s < N; s += B) {
        const idx = order.slice(s, s + B);
        const bc = new Int32Array(idx.length * c.levels);
        idx.forEach((i, r) => {
          bc.set(codes.subarray(i * c.levels, (i + 1) * c.levels), r * c.levels);
        });
        const positives = clusters.map((cl, l) =>
          samplePositives(
            Int32Array.from(idx, (_, r) => bc[r * c.levels + l]!),
            cl,
            rng,
          ),
        );
        // The two regularisers are kept out of the step's tidy to be reported after it.
        let kept: tf.Tensor[] = [];
        const res = await trainer.step(() => {
          const ix = tf.tensor1d(idx, 'int32');
          const l = tok.losses(tf.gather(X, ix), tf.gather(H, ix), bc, positives);
          kept = [tf.keep(l.collaborative), tf.keep(l.diversity)];
          return l.total;
        });
        const parts = [(await kept[0]!.data())[0]!, (await kept[1]!.data())[0]!];
        tf.dispose(kept);
        sum += res.loss;
        sumCf += parts[0]!;
        sumDiv += parts[1]!;
        n++;
      }
      out.push(sum / n);
      opts.onEpoch?.({ epoch, loss: sum / n, collaborative: sumCf / n, diversity: sumDiv / n });
    }
  } finally {
    trainer.dispose();
    optimizer.dispose();
    tf.dispose([X, H]);
  }
  return out;
}

/** What {@link letterSemanticIds} returns. */
export interface LetterIds {
  /** Row-major N x L codes of the N input rows. */
  ids: Int32Array;
  /** Items sharing all codes with another item, before and after the Sinkhorn re-assignment. */
  collidingBefore: number;
  collidingAfter: number;
  /** Re-assignment rounds run. */
  rounds: number;
}

/** Items (row indices) that share their whole code tuple with another row. */
export function collidingRows(ids: Int32Array, L: number): number[] {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < ids.length / L; i++) {
    const k = ids.subarray(i * L, (i + 1) * L).join(',');
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  return [...groups.values()].filter((g) => g.length > 1).flat();
}

/**
 * The tokenizer's semantic IDs with LETTER's collision handling: nearest codes, then, while items
 * collide (up to `maxRounds`), the colliding items' last-level codes are re-assigned together by a
 * balanced Sinkhorn assignment (`@mmesid/rqvae`'s `sinkhornAssign`) over their last-level residual
 * distances; the assignment with the fewest colliding items seen is kept. Collisions left (e.g. more
 * items share a prefix than the last level has codes) are reported, and the generative vocabulary
 * then adds its disambiguation level.
 */
export async function letterSemanticIds(
  tok: LetterTokenizer,
  inputs: EmbeddingMatrix,
  opts: { epsilon?: number; maxRounds?: number } = {},
): Promise<LetterIds> {
  const L = tok.config.levels;
  const X = tf.tensor2d(inputs.data, [inputs.rows, inputs.cols]);
  try {
    const ids = await tok.assign(X);
    const before = collidingRows(ids, L).length;
    // A round can move an item onto another's codes; the fewest-collision state seen is returned.
    let best = { ids: ids.slice(), colliding: before };
    let rounds = 0;
    for (; rounds < (opts.maxRounds ?? 20); rounds++) {
      const rows = collidingRows(ids, L);
      if (rows.length === 0) break;
      const next = tf.tidy(() => {
        const z = tok.encode(tf.gather(X, tf.tensor1d(rows, 'int32')));
        const cbs = tf.unstack(tok.rq.codebooks());
        let r: tf.Tensor2D = z;
        for (let l = 0; l < L - 1; l++) {
          const lc = Int32Array.from(rows, (i) => ids[i * L + l]!);
          r = tf.sub(r, tf.gather(cbs[l]!, tf.tensor1d(lc, 'int32'))) as tf.Tensor2D;
        }
        return sinkhornAssign(squaredDistances(r, cbs[L - 1] as tf.Tensor2D), {
          epsilon: opts.epsilon ?? 0.003,
        });
      });
      const last = await next.data();
      next.dispose();
      rows.forEach((i, k) => {
        ids[i * L + L - 1] = last[k]!;
      });
      const now = collidingRows(ids, L).length;
      if (now < best.colliding) best = { ids: ids.slice(), colliding: now };
    }
    return { ids: best.ids, collidingBefore: before, collidingAfter: best.colliding, rounds };
  } finally {
    X.dispose();
  }
}
