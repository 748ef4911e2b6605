import { type EmbeddingMatrix, ResidualQuantizer, sinkhornAssign, squaredDistances } from '@mmesid/rqvae';
import {
  AdamW,
  ConfigError,
  Linear,
  MLP,
  Module,
  Rng,
  ShapeError,
  Trainer,
  tf,
  xavierNormal,
} from '@mmesid/tensor';
import {
  balancedClusters,
  collaborativeAlignmentLoss,
  diversityLoss,
  samplePositives,
} from './letter-losses.js';

/**
 * LETTER's tokenizer settings. Defaults are the values of LETTER's released tokenizer code
 * (`RQ-VAE/main.py`, `RQ-VAE/train_tokenizer.sh` of the authors' repository) except where a field says
 * "ours".
 */
export interface LetterConfig {
  /** Width of the semantic input (text embedding). */
  inputDim: number;
  /** Width of the collaborative (SASRec) embedding it is aligned to. */
  cfDim: number;
  /**
   * Code width. Default: `cfDim`, so the quantised embedding is aligned to the collaborative one
   * directly, as in LETTER (its codes and its SASRec table are both 32-wide). Any other width adds
   * a linear map `cf_proj` (ours) before the inner product.
   */
  eDim?: number;
  /**
   * Encoder hidden widths, mirrored by the decoder. Default: LETTER's pattern, widths halving from
   * inputDim / 2 down to 2 * eDim (for its 4096-d LLaMA input and e_dim 32 that is its released
   * [2048, 1024, 512, 256, 128, 64]; for a 64-d input and 64-d codes, none: linear maps). Keep the
   * layers no wider than the input on short budgets: a wide encoder (e.g. [512, 256, 128] on a 64-d
   * input) moves its latent much faster per AdamW step than the codebooks can follow, the
   * quantisation loss grows and the codes collapse (measured on Beauty; see the README).
   */
  hidden?: readonly number[];
  levels?: number;
  codebookSize?: number;
  /** Weight of the collaborative loss (default 0.01, the released script's). */
  alpha?: number;
  /** Weight of the diversity loss (default 1e-4, the released script's). */
  beta?: number;
  /** Commitment weight of the quantiser (default 0.25, LETTER's `mu`). */
  mu?: number;
  /** Clusters per codebook for the diversity loss (default 10, LETTER's). */
  clusters?: number;
  /**
   * Sinkhorn epsilon per level in training and in the collision re-assignment (0: nearest code).
   * Default: 0.003 on the last level only, LETTER's `sk_epsilons`.
   */
  sinkhornEpsilons?: readonly number[];
  /** Sinkhorn iterations (default 50, LETTER's `sk_iters`). */
  sinkhornIters?: number;
  seed?: number;
}

/** One step's loss terms. */
export interface LetterLosses {
  total: tf.Scalar;
  /** Mean squared error over all elements of the standardised input (LETTER's `F.mse_loss`). */
  reconstruction: tf.Scalar;
  /** Codebook + mu * commitment, mean over levels (without the diversity term). */
  quantization: tf.Scalar;
  collaborative: tf.Scalar;
  diversity: tf.Scalar;
}

/**
 * An MLP as LETTER's `MLPLayers`: ReLU between layers, none after the last, Xavier-normal weights and
 * zero biases. (nn.Linear's default init, 1/sqrt(fan_in) uniform, starts the 4-layer encoder with a
 * latent several times smaller, where one AdamW step moves the latent further relative to its spread.)
 */
function letterMlp(sizes: number[], rng: Rng): MLP {
  const m = new MLP(sizes, { rng, skipInit: true });
  for (const layer of m.layers) {
    const w = xavierNormal()(layer.weight.shape, rng);
    layer.weight.assign(w);
    w.dispose();
  }
  return m;
}

/**
 * LETTER's learnable item tokenizer: an RQ-VAE (MLP encoder, `@mmesid/rqvae`'s residual quantiser,
 * MLP decoder) trained with three regularisers, as LETTER's released code computes them:
 * semantic (reconstruction MSE + per-level codebook and commitment losses), collaborative (the
 * quantised embedding, straight-through so its gradient reaches the encoder, aligned to the item's
 * SASRec embedding by an in-batch contrastive loss) and diversity (each level's codes grouped into
 * clusters; the chosen code pulled toward another code of its cluster). The last level is assigned
 * by Sinkhorn in training. After training, items that still share all codes get their last level
 * re-assigned by Sinkhorn, group by group ({@link letterSemanticIds}).
 *
 * Ours, not LETTER's: the input standardisation ({@link fitInputScaling}) and, when `eDim` differs
 * from `cfDim`, the linear map `cf_proj`.
 *
 * @see LETTER (Wang et al., CIKM'24); MME-SID Table 3 (LETTER baseline)
 */
export class LetterTokenizer extends Module {
  readonly config: Required<LetterConfig>;

  constructor(config: LetterConfig) {
    super();
    const levels = config.levels ?? 4;
    const eDim = config.eDim ?? config.cfDim;
    const halving: number[] = [];
    for (let w = Math.floor(config.inputDim / 2); w >= 2 * eDim; w = Math.floor(w / 2)) halving.push(w);
    const c: Required<LetterConfig> = {
      eDim,
      hidden: halving,
      levels,
      codebookSize: 256,
      alpha: 0.01,
      beta: 1e-4,
      mu: 0.25,
      clusters: 10,
      sinkhornEpsilons: Array.from({ length: levels }, (_, l) => (l === levels - 1 ? 0.003 : 0)),
      sinkhornIters: 50,
      seed: 0,
      ...config,
    };
    if (c.clusters > c.codebookSize)
      throw new ConfigError(`LetterTokenizer: clusters ${c.clusters} exceed codebookSize ${c.codebookSize}`);
    if (c.sinkhornEpsilons.length !== c.levels || !c.sinkhornEpsilons.every((e) => e >= 0))
      throw new ConfigError(
        `LetterTokenizer: sinkhornEpsilons must be ${c.levels} numbers >= 0, got [${c.sinkhornEpsilons}]`,
      );
    this.config = c;
    const rng = new Rng(`letter:${c.seed}`);
    this.setModule('encoder', letterMlp([c.inputDim, ...c.hidden, c.eDim], rng.fork('enc')));
    this.setModule(
      'rq',
      new ResidualQuantizer({
        levels: c.levels,
        codebookSize: c.codebookSize,
        eDim: c.eDim,
        rng: rng.fork('rq'),
      }),
    );
    this.setModule('decoder', letterMlp([c.eDim, ...[...c.hidden].reverse(), c.inputDim], rng.fork('dec')));
    if (c.eDim !== c.cfDim)
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
   * The codes the training forward pass assigns to `x` [B, inputDim] (nearest code, Sinkhorn on the
   * levels with an epsilon > 0), row-major B x L: what {@link losses} needs for the diversity term.
   */
  async trainingCodes(x: tf.Tensor2D): Promise<Int32Array> {
    const codes = tf.tidy(() => this.quantize(this.encode(x)).codes);
    try {
      return (await codes.data()) as Int32Array;
    } finally {
      codes.dispose();
    }
  }

  private quantize(z: tf.Tensor2D) {
    return this.rq.forward(z, {
      beta: this.config.mu,
      // LETTER's levels take a straight-through x_res, so the residual after level 0 carries no
      // gradient: only level 0's commitment reaches the encoder.
      detachResidual: true,
      sinkhornEpsilons: this.config.sinkhornEpsilons,
      sinkhornIters: this.config.sinkhornIters,
    });
  }

  /**
   * The loss terms for a batch: `x` [B, inputDim], `cf` [B, cfDim], and for the diversity term the
   * batch's codes (row-major B x L, from {@link trainingCodes} on the same batch and weights) and
   * per-level positives (from `samplePositives`). Differentiable; as in LETTER's released code the
   * total is
   *
   *   mean((x_hat - x)^2) + 1/L sum_l (codebook_l + mu commitment_l + beta L_Div(l)) + alpha L_CF
   *
   * where L_CF aligns the straight-through quantised embedding (value sum_l e_{c_l}, gradient to the
   * encoder) with the SASRec rows, and L_Div(l) scores each chosen code e_{c_l} against the other
   * codes of level l.
   */
  losses(x: tf.Tensor2D, cf: tf.Tensor2D, codes: Int32Array, positives: readonly Int32Array[]): LetterLosses {
    const { levels: L, alpha, beta } = this.config;
    const B = x.shape[0];
    if (codes.length !== B * L)
      throw new ShapeError(`LetterTokenizer.losses: ${codes.length} codes for ${B} x ${L}`);
    return tf.tidy(() => {
      const z = this.encode(x);
      const q = this.quantize(z);
      const xh = (this.childModule('decoder') as MLP).forward(q.quantized);
      const reconstruction = tf.mean(tf.square(tf.sub(xh, this.standardize(x)))) as tf.Scalar;
      const proj =
        this.config.eDim === this.config.cfDim
          ? q.quantized
          : ((this.childModule('cf_proj') as Linear).forward(q.quantized) as tf.Tensor2D);
      const collaborative = collaborativeAlignmentLoss(proj, cf);
      const cbs = tf.unstack(this.rq.codebooks());
      const divs: tf.Scalar[] = [];
      for (let l = 0; l < L; l++) {
        const lc = Int32Array.from({ length: B }, (_, i) => codes[i * L + l]!);
        const chosen = tf.gather(cbs[l]!, tf.tensor1d(lc, 'int32')) as tf.Tensor2D;
        divs.push(diversityLoss(chosen, cbs[l] as tf.Tensor2D, lc, positives[l]!));
      }
      const diversity = tf.div(tf.addN(divs), L) as tf.Scalar;
      const total = tf.addN([
        reconstruction,
        q.loss,
        tf.mul(diversity, beta),
        tf.mul(collaborative, alpha),
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

/** One epoch of {@link trainLetter}: the mean of each loss term over its batches. */
export interface LetterEpoch {
  epoch: number;
  /** The weighted total that was minimised. */
  loss: number;
  reconstruction: number;
  quantization: number;
  collaborative: number;
  diversity: number;
  /** Items sharing their whole nearest-code ID with another item after this epoch (all N inputs). */
  colliding: number;
}

/** Options of {@link trainLetter}. */
export interface TrainLetterOptions {
  epochs?: number;
  /** Default 1024 (LETTER's). */
  batchSize?: number;
  /** AdamW learning rate (default 1e-3, LETTER's). */
  lr?: number;
  /** AdamW weight decay (default 1e-4, LETTER's). */
  weightDecay?: number;
  /** Fit the input standardisation and initialise the codebooks by k-means on the encoded data first (default true). */
  kmeansInit?: boolean;
  /**
   * Keep the weights of the epoch with the fewest colliding items (nearest codes over all inputs,
   * counted after every epoch), as LETTER's trainer keeps `best_collision_model.pth` (default true).
   */
  keepBestCollisions?: boolean;
  /** Called after each epoch (awaited). */
  onEpoch?: (e: LetterEpoch) => void | Promise<void>;
}

/**
 * Trains a {@link LetterTokenizer} on item embeddings (`inputs`, N rows) and their SASRec embeddings
 * (`cf`, the same N rows). Each epoch re-clusters every level's codebook (balanced clusters), as
 * LETTER does at the start of each epoch; each batch's codes come from the weights of that step
 * (Sinkhorn on the last level), and each row's diversity positive is drawn from its code's cluster.
 * After each epoch the colliding items are counted; the weights of the epoch with the fewest are
 * restored at the end (`keepBestCollisions`). Returns the mean total loss per epoch.
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
  const optimizer = new AdamW(tok.trainableParameters(), {
    lr: opts.lr ?? 1e-3,
    weightDecay: opts.weightDecay ?? 1e-4,
  });
  const trainer = new Trainer({ optimizer });
  const rng = new Rng(`letter-train:${c.seed}`);
  const B = opts.batchSize ?? 1024;
  const out: number[] = [];
  let best: { colliding: number; epoch: number; state: Record<string, tf.Tensor> } | null = null;
  try {
    if (opts.kmeansInit ?? true) {
      tok.fitInputScaling(X);
      await tok.initCodebooks(X);
    }
    for (let epoch = 0; epoch < (opts.epochs ?? 1); epoch++) {
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
      const sums = [0, 0, 0, 0];
      let n = 0;
      for (let s = 0; s < N; s += B) {
        const idx = order.slice(s, s + B);
        const xb = tf.tidy(() => tf.gather(X, tf.tensor1d(idx, 'int32')) as tf.Tensor2D);
        const bc = await tok.trainingCodes(xb).finally(() => xb.dispose());
        const positives = clusters.map((cl, l) =>
          samplePositives(
            Int32Array.from(idx, (_, r) => bc[r * c.levels + l]!),
            cl,
            rng,
          ),
        );
        // The four terms are kept out of the step's tidy to be reported after it.
        let kept: tf.Tensor[] = [];
        const res = await trainer.step(() => {
          const ix = tf.tensor1d(idx, 'int32');
          const l = tok.losses(tf.gather(X, ix), tf.gather(H, ix), bc, positives);
          kept = [l.reconstruction, l.quantization, l.collaborative, l.diversity].map((t) => tf.keep(t));
          return l.total;
        });
        const stacked = tf.stack(kept);
        const parts = (await stacked.data()) as Float32Array;
        tf.dispose([stacked, ...kept]);
        sum += res.loss;
        parts.forEach((v, k) => {
          sums[k]! += v;
        });
        n++;
      }
      out.push(sum / n);
      const colliding = collidingRows(await tok.assign(X), c.levels).length;
      if ((opts.keepBestCollisions ?? true) && (!best || colliding < best.colliding)) {
        if (best) tf.dispose(Object.values(best.state));
        const sd = tok.stateDict();
        best = {
          colliding,
          epoch,
          state: Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, tf.clone(t)])),
        };
      }
      await opts.onEpoch?.({
        epoch,
        loss: sum / n,
        reconstruction: sums[0]! / n,
        quantization: sums[1]! / n,
        collaborative: sums[2]! / n,
        diversity: sums[3]! / n,
        colliding,
      });
    }
    if (best && best.epoch !== out.length - 1) tok.loadStateDict(best.state);
  } finally {
    trainer.dispose();
    optimizer.dispose();
    tf.dispose([X, H]);
    if (best) tf.dispose(Object.values(best.state));
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

/** The groups of rows (row indices, ascending) that share their whole code tuple, groups of two or more. */
export function collisionGroups(ids: Int32Array, L: number): number[][] {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < ids.length / L; i++) {
    const k = ids.subarray(i * L, (i + 1) * L).join(',');
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

/** Items (row indices) that share their whole code tuple with another row. */
export function collidingRows(ids: Int32Array, L: number): number[] {
  return collisionGroups(ids, L).flat();
}

/**
 * The tokenizer's semantic IDs with LETTER's collision handling (its `generate_indices.py`): nearest
 * codes, then, while items collide (up to `maxRounds`, LETTER's 20), each group of items sharing a
 * whole code tuple gets its last-level codes re-assigned by a balanced Sinkhorn assignment over the
 * group's last-level residual distances (`@mmesid/rqvae`'s `sinkhornAssign`, epsilon the last level's
 * `sinkhornEpsilons` entry or LETTER's 0.003 when that is 0), which spreads a group over distinct
 * codes. A round can move an item onto another item's codes; the state with the fewest colliding
 * items seen is returned. Collisions left (more items share a prefix than the last level has codes)
 * are reported, and the generative vocabulary then adds its disambiguation level.
 */
export async function letterSemanticIds(
  tok: LetterTokenizer,
  inputs: EmbeddingMatrix,
  opts: { epsilon?: number; maxRounds?: number } = {},
): Promise<LetterIds> {
  const L = tok.config.levels;
  const epsilon = opts.epsilon ?? (tok.config.sinkhornEpsilons[L - 1]! || 0.003);
  const X = tf.tensor2d(inputs.data, [inputs.rows, inputs.cols]);
  try {
    const ids = await tok.assign(X);
    const before = collidingRows(ids, L).length;
    let best = { ids: ids.slice(), colliding: before };
    let rounds = 0;
    for (; rounds < (opts.maxRounds ?? 20); rounds++) {
      const groups = collisionGroups(ids, L);
      if (groups.length === 0) break;
      const rows = groups.flat();
      // Last-level distances of every colliding row at once; then one Sinkhorn per group.
      const dist = tf.tidy(() => {
        const z = tok.encode(tf.gather(X, tf.tensor1d(rows, 'int32')));
        const cbs = tf.unstack(tok.rq.codebooks());
        let r: tf.Tensor2D = z;
        for (let l = 0; l < L - 1; l++) {
          const lc = Int32Array.from(rows, (i) => ids[i * L + l]!);
          r = tf.sub(r, tf.gather(cbs[l]!, tf.tensor1d(lc, 'int32'))) as tf.Tensor2D;
        }
        return squaredDistances(r, cbs[L - 1] as tf.Tensor2D);
      });
      try {
        let at = 0;
        for (const g of groups) {
          const next = tf.tidy(() =>
            sinkhornAssign(tf.slice(dist, [at, 0], [g.length, -1]) as tf.Tensor2D, {
              epsilon,
              iters: tok.config.sinkhornIters,
            }),
          );
          const last = await next.data();
          next.dispose();
          g.forEach((i, k) => {
            ids[i * L + L - 1] = last[k]!;
          });
          at += g.length;
        }
      } finally {
        dist.dispose();
      }
      const now = collidingRows(ids, L).length;
      if (now < best.colliding) best = { ids: ids.slice(), colliding: now };
    }
    return { ids: best.ids, collidingBefore: before, collidingAfter: best.colliding, rounds };
  } finally {
    X.dispose();
  }
}
