import { ConfigError, type Rng, ShapeError, tf } from '@mmesid/tensor';

/**
 * LETTER's collaborative regularisation: an in-batch contrastive loss that aligns each item's
 * quantised embedding q_i with its collaborative (SASRec) embedding h_i, inner-product logits, the
 * other items of the batch as negatives:
 *
 *   L_CF = -1/B sum_i log( exp(<q_i, h_i>) / sum_j exp(<q_i, h_j>) )
 *
 * `q` [B, d] and `h` [B, d] must have the same width (project first). Differentiable.
 *
 * @see LETTER (Wang et al., CIKM'24), collaborative regularisation
 */
export function collaborativeAlignmentLoss(q: tf.Tensor2D, h: tf.Tensor2D): tf.Scalar {
  if (q.rank !== 2 || h.rank !== 2 || q.shape[0] !== h.shape[0] || q.shape[1] !== h.shape[1])
    throw new ShapeError(`collaborativeAlignmentLoss: q [${q.shape}] and h [${h.shape}] must both be [B, d]`);
  return tf.tidy(() => {
    const logits = tf.matMul(q, h, false, true);
    const pos = tf.sum(tf.mul(q, h), 1);
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), pos)) as tf.Scalar;
  });
}

/**
 * LETTER's diversity regularisation at one level: the codes are grouped into clusters; the vector
 * r_i scored for row i (in LETTER's released code, and in `LetterTokenizer`, the code e_{c_i}
 * the row was assigned at this level) is pulled toward a randomly chosen *other* code e+ of its
 * assigned code's cluster and pushed from every code except its assigned one:
 *
 *   L_Div = -1/B' sum_i log( exp(<r_i, e+_i>) / sum_{j != c_i} exp(<r_i, e_j>) )
 *
 * Rows with `positives[i] < 0` (a cluster holding only the assigned code) are left out; B' counts the
 * rest (0 of them gives 0). Differentiable in `r` and `codebook`.
 *
 * @see LETTER (Wang et al., CIKM'24), diversity regularisation against code assignment bias
 */
export function diversityLoss(
  r: tf.Tensor2D,
  codebook: tf.Tensor2D,
  codes: Int32Array,
  positives: Int32Array,
): tf.Scalar {
  const [B, d] = r.shape;
  const [K, d2] = codebook.shape;
  if (d !== d2)
    throw new ShapeError(`diversityLoss: r is [${r.shape}] but the codebook is [${codebook.shape}]`);
  if (codes.length !== B || positives.length !== B)
    throw new ShapeError(
      `diversityLoss: ${codes.length} codes and ${positives.length} positives for ${B} rows`,
    );
  const keep = new Float32Array(B);
  const pos = new Int32Array(B);
  const own = new Float32Array(B * K);
  let n = 0;
  for (let i = 0; i < B; i++) {
    const c = codes[i]!;
    if (!(c >= 0 && c < K)) throw new ShapeError(`diversityLoss: code ${c} of row ${i} outside 0..${K - 1}`);
    own[i * K + c] = 1;
    const p = positives[i]!;
    if (p >= 0) {
      if (p >= K || p === c)
        throw new ShapeError(`diversityLoss: positive ${p} of row ${i} is not another code`);
      keep[i] = 1;
      pos[i] = p;
      n++;
    }
  }
  if (n === 0) return tf.scalar(0);
  return tf.tidy(() => {
    const logits = tf.matMul(r, codebook, false, true);
    // Drop the assigned code from the denominator with a large negative (finite) bias.
    const masked = tf.add(logits, tf.mul(tf.tensor2d(own, [B, K]), -1e9));
    const lse = tf.logSumExp(masked, 1);
    const num = tf.sum(tf.mul(r, tf.gather(codebook, tf.tensor1d(pos, 'int32'))), 1);
    return tf.div(tf.sum(tf.mul(tf.sub(lse, num), tf.tensor1d(keep))), n) as tf.Scalar;
  });
}

/**
 * Groups the K codes of a codebook [K, d] (row-major) into `groups` clusters of nearly equal size
 * (capacity ceil(K / groups)): seeded k-means++ centres, then Lloyd rounds in which codes are placed
 * greedily, closest pairs first, into clusters that still have room. LETTER clusters with
 * size-constrained k-means; this is a balanced variant of it, not the same solver.
 */
export function balancedClusters(
  codebook: Float32Array,
  K: number,
  groups: number,
  rng: Rng,
  iters = 10,
): Int32Array {
  if (!(Number.isInteger(groups) && groups >= 1 && groups <= K))
    throw new ConfigError(`balancedClusters: groups must be in 1..${K}, got ${groups}`);
  const d = codebook.length / K;
  const dist = (a: number, c: Float64Array, j: number) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += (codebook[a * d + k]! - c[j * d + k]!) ** 2;
    return s;
  };
  const centres = new Float64Array(groups * d);
  const first = rng.int(K);
  for (let k = 0; k < d; k++) centres[k] = codebook[first * d + k]!;
  for (let g = 1; g < groups; g++) {
    const w = Array.from({ length: K }, (_, a) =>
      Math.min(...Array.from({ length: g }, (_, j) => dist(a, centres, j))),
    );
    const total = w.reduce((s, x) => s + x, 0);
    let u = rng.float() * total;
    let pick = K - 1;
    for (let a = 0; a < K; a++) {
      u -= w[a]!;
      if (u <= 0) {
        pick = a;
        break;
      }
    }
    for (let k = 0; k < d; k++) centres[g * d + k] = codebook[pick * d + k]!;
  }
  const cap = Math.ceil(K / groups);
  const assign = new Int32Array(K);
  for (let it = 0; it < iters; it++) {
    const pairs: [number, number, number][] = [];
    for (let a = 0; a < K; a++) for (let g = 0; g < groups; g++) pairs.push([dist(a, centres, g), a, g]);
    pairs.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
    const size = new Int32Array(groups);
    const done = new Uint8Array(K);
    for (const [, a, g] of pairs) {
      if (done[a] || size[g]! >= cap) continue;
      done[a] = 1;
      size[g]!++;
      assign[a] = g;
    }
    centres.fill(0);
    for (let a = 0; a < K; a++)
      for (let k = 0; k < d; k++) {
        const v = codebook[a * d + k] ?? 0;
        centres[assign[a]! * d + k]! += v;
      }
    for (let g = 0; g < groups; g++) for (let k = 0; k < d; k++) centres[g * d + k]! /= Math.max(1, size[g]!);
  }
  return assign;
}

/** For each code, a random other code of its cluster (-1 when the cluster holds only that code). */
export function samplePositives(codes: Int32Array, clusters: Int32Array, rng: Rng): Int32Array {
  const members = new Map<number, number[]>();
  clusters.forEach((g, c) => {
    const m = members.get(g);
    if (m) m.push(c);
    else members.set(g, [c]);
  });
  return Int32Array.from(codes, (c) => {
    const others = members.get(clusters[c]!)!.filter((x) => x !== c);
    return others.length === 0 ? -1 : others[rng.int(others.length)]!;
  });
}

/**
 * LETTER's ranking-guided generation loss: the generation cross-entropy with a temperature tau over
 * the softmax of each generated token,
 *
 *   L_rank = -1/N sum_i log( exp(z_i[y_i] / tau) / sum_v exp(z_i[v] / tau) )
 *
 * over N rows of logits `logits` [N, V] with labels `labels` (N ids in 0..V-1). tau = 1 is the
 * plain next-token cross-entropy; a smaller tau sharpens the softmax, so the gradient
 * (softmax(z/tau) - onehot(y)) / (tau N) puts more of its weight on the highest-scored wrong tokens
 * (hard negatives), which LETTER shows tightens a ranking (one-way partial AUC) bound. Differentiable
 * in `logits`.
 *
 * @throws ConfigError when tau is not a positive finite number
 * @throws ShapeError when `logits` is not 2-D or a label is outside 0..V-1
 * @see LETTER (Wang et al., CIKM'24), ranking-guided generation loss
 */
export function rankingGuidedLoss(logits: tf.Tensor, labels: Int32Array, temperature: number): tf.Scalar {
  if (!(Number.isFinite(temperature) && temperature > 0))
    throw new ConfigError(`rankingGuidedLoss: temperature must be a positive number, got ${temperature}`);
  if (logits.rank !== 2)
    throw new ShapeError(`rankingGuidedLoss: logits must be [N, V], got [${logits.shape}]`);
  const [N, V] = logits.shape as [number, number];
  if (labels.length !== N) throw new ShapeError(`rankingGuidedLoss: ${labels.length} labels for ${N} rows`);
  labels.forEach((y, i) => {
    if (!(Number.isInteger(y) && y >= 0 && y < V))
      throw new ShapeError(`rankingGuidedLoss: label ${y} of row ${i} outside 0..${V - 1}`);
  });
  return tf.tidy(() => {
    const z = temperature === 1 ? logits : tf.div(logits, temperature);
    const lp = tf.logSoftmax(z);
    const picked = tf.sum(tf.mul(lp, tf.oneHot(tf.tensor1d(labels, 'int32'), V)), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}
