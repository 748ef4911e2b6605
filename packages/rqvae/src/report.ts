import {
  type DistanceMetric,
  distanceOrderTau,
  type ItemPairs,
  type LevelStats,
  semanticIdStats,
} from '@mmesid/metrics';
import { ShapeError } from '@mmesid/tensor';
import type { EmbeddingMatrix, ModalityInputs } from './data.js';
import type { SemanticIdTokenizer } from './semantic-id-tokenizer.js';

/** Options of {@link tokenizerReport}. */
export interface ReportOptions {
  /**
   * Item pairs for the forgetting measure, as row indices of the inputs (e.g. `@mmesid/metrics`'
   * `behaviouralPairs(split.test)` shifted by `firstItemId`). Without them no tau is computed.
   */
  pairs?: ItemPairs;
  /** More named pair sets; their taus go to `tauBy[name]`. */
  extraPairs?: Record<string, ItemPairs>;
  /** Distance for the tau (default 'euclidean'). */
  metric?: DistanceMetric;
}

/** The two forgetting taus over one set of pairs. */
export interface TauPair {
  quantized: number;
  reconstructed: number;
  pairs: number;
}

/** The figures of one modality. */
export interface ModalityReport {
  /** Mean over elements of (decoded - original)^2: how well the input space is rebuilt. */
  reconstructionMse: number;
  /** Mean over items of ||decoded - original||_2 / ||original||_2. */
  relativeReconstructionError: number;
  /** Fraction of items whose full ID tuple another item shares (`@mmesid/metrics`). */
  collisionRate: number;
  /** 1 - distinct IDs / items: the authors' "collision rate" (`trainer._valid_epoch`). */
  duplicateRate: number;
  distinctIds: number;
  maxBucketSize: number;
  /** Per level: used codes, usage = used / K, entropy (nats) and perplexity = exp(entropy). */
  perLevel: LevelStats[];
  /**
   * Kendall's tau-b between the pair distances in the original space and in the quantised latent
   * space (the sum of each item's codes): the forgetting measure of the paper's Fig. 2.
   */
  tauQuantized?: number;
  /** The same between the original space and the decoded reconstructions (RQ-KMeans: equals `tauQuantized`). */
  tauReconstructed?: number;
  /** Pairs the taus were computed over. */
  pairs?: number;
  /** The taus over each of `extraPairs`. */
  tauBy?: Record<string, TauPair>;
}

/**
 * Measures a trained tokenizer on the items it encodes: reconstruction error, semantic-ID
 * collisions, codebook usage and perplexity per level (`@mmesid/metrics`' `semanticIdStats`), and
 * the paper's forgetting measure (`distanceOrderTau`: Kendall's tau between the distances of the
 * given item pairs in the original space and in the quantised space), both for the quantised
 * latent and for the decoded reconstruction.
 *
 * Which tau is the paper's: MME-SID's Fig. 2 compares the original collaborative embeddings with
 * the *quantised embeddings*, the code embeddings that the fine-tuning stage initialises its
 * semantic-ID embeddings from (the decoder is thrown away after the encoding stage), so it is
 * `tauQuantized`. `tauReconstructed` shows what the decoder's output keeps and is what the MMD
 * reconstruction loss acts on directly.
 *
 * @see MME-SID Sec. 2 / Fig. 2 (forgetting), Sec. 3.2 (MM-RQ-VAE)
 * @example
 * const pairs = behaviouralPairs(split.test); // item ids; rows of a table whose row 0 is padding
 * const report = await tokenizerReport(model, { collaborative: table }, { pairs });
 */
export async function tokenizerReport(
  tokenizer: SemanticIdTokenizer,
  inputs: ModalityInputs,
  opts: ReportOptions = {},
): Promise<Record<string, ModalityReport>> {
  const ids = await tokenizer.assign(inputs);
  const quantized = await tokenizer.quantize(inputs);
  const decoded = tokenizer.kind === 'rq-kmeans' ? quantized : await tokenizer.reconstruct(inputs);
  const out: Record<string, ModalityReport> = {};
  for (const name of tokenizer.modalities) {
    const x = inputs[name]!;
    const xHat = decoded[name]!;
    if (xHat.cols !== x.cols)
      throw new ShapeError(
        `tokenizerReport: "${name}" decodes to ${xHat.cols} columns, the input has ${x.cols}`,
      );
    const stats = semanticIdStats(
      { rows: x.rows, levels: tokenizer.levels, data: ids[name]! },
      tokenizer.codebookSize,
    );
    const report: ModalityReport = {
      ...reconstructionErrors(x, xHat),
      collisionRate: stats.collisionRate,
      duplicateRate: stats.duplicateRate,
      distinctIds: stats.distinctIds,
      maxBucketSize: stats.maxBucketSize,
      perLevel: [...stats.perLevel],
    };
    const metric = opts.metric ?? 'euclidean';
    const taus = (pairs: ItemPairs): TauPair => {
      const tq = distanceOrderTau(x, quantized[name]!, pairs, { metric });
      const reconstructed =
        tokenizer.kind === 'rq-kmeans' ? tq.tau : distanceOrderTau(x, xHat, pairs, { metric }).tau;
      return { quantized: tq.tau, reconstructed, pairs: tq.pairs };
    };
    if (opts.pairs) {
      const t = taus(opts.pairs);
      report.tauQuantized = t.quantized;
      report.tauReconstructed = t.reconstructed;
      report.pairs = t.pairs;
    }
    if (opts.extraPairs)
      report.tauBy = Object.fromEntries(Object.entries(opts.extraPairs).map(([k, p]) => [k, taus(p)]));
    out[name] = report;
  }
  return out;
}

function reconstructionErrors(
  x: EmbeddingMatrix,
  y: EmbeddingMatrix,
): { reconstructionMse: number; relativeReconstructionError: number } {
  let se = 0;
  let rel = 0;
  const d = x.cols;
  for (let i = 0; i < x.rows; i++) {
    let e = 0;
    let nx = 0;
    for (let c = 0; c < d; c++) {
      const a = x.data[i * d + c]!;
      const t = y.data[i * d + c]! - a;
      e += t * t;
      nx += a * a;
    }
    se += e;
    rel += nx > 0 ? Math.sqrt(e / nx) : 0;
  }
  return { reconstructionMse: se / (x.rows * d), relativeReconstructionError: rel / x.rows };
}
