import { type Rng, ShapeError, tf } from '@mmesid/tensor';
import { nearestCodes } from './distance.js';

/** Options of {@link kmeans}. */
export interface KMeansOptions {
  /** Number of clusters K. */
  k: number;
  /** Seeded source of the k-means++ draws. */
  rng: Rng;
  /** Maximum Lloyd iterations after the seeding (default 100). Stops earlier once no point changes cluster. */
  iters?: number;
}

/** The outcome of {@link kmeans}. */
export interface KMeansResult {
  /** [K, d] cluster centres; the caller disposes them. */
  centroids: tf.Tensor2D;
  /** Cluster of every point under `centroids` (length N). */
  assignments: Int32Array;
  /** Points per cluster (length K). */
  counts: Int32Array;
  /** Sum of squared distances of the points to their centres. */
  inertia: number;
  /** Lloyd iterations run. */
  iterations: number;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007: each next centre drawn with probability
 * proportional to the squared distance to the nearest centre so far) followed by Lloyd
 * iterations. The distance products run on the active backend (a matrix-vector product per
 * seed, one matmul and one pass per Lloyd iteration, see `nearestCodes`); the draws, minima and
 * centre updates on the host over one copy of the points; the draws come from `rng`, so the same seed gives the same clusters on cpu and wasm.
 *
 * Empty clusters: after each assignment, a cluster left without points takes the point farthest
 * from its centre among clusters that can spare one, and its centre then moves onto that point
 * (also when this happens at the last allowed iteration: one more centre update, then a final
 * assignment without refilling, so the returned `assignments` and `counts` are those of the
 * returned centres). No code ends up empty unless the data has fewer than K distinct points.
 *
 * Used to initialise each level's codebook on the residuals of the encoded items (MME-SID,
 * following TIGER), and as the whole of RQ-KMeans.
 *
 * @example
 * const x = tf.tensor2d(points, [n, d]);
 * const { centroids, assignments } = await kmeans(x, { k: 256, rng: new Rng(42) });
 * centroids.dispose(); x.dispose();
 */
export async function kmeans(x: tf.Tensor2D, opts: KMeansOptions): Promise<KMeansResult> {
  const [n, d] = x.shape;
  const k = opts.k;
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`kmeans: k must be a positive integer, got ${k}`);
  if (n < 1 || d < 1) throw new ShapeError(`kmeans: expected a non-empty [N, d] matrix, got [${x.shape}]`);
  const iters = opts.iters ?? 100;

  // One host copy of the points: the seeding and the centre updates run over it.
  const data = (await x.data()) as Float32Array;
  let centroids = tf.tensor2d(await kmeansPlusPlus(x, data, k, opts.rng), [k, d]);
  let assignments: Int32Array = new Int32Array(n);
  let distance: Float32Array = new Float32Array(n);
  let counts: Int32Array = new Int32Array(k);
  let iterations = 0;
  for (let it = 0; it <= iters; it++) {
    const near = await nearestCodes(x, centroids);
    counts = bincount(near.index, k);
    const moved = fillEmptyClusters(near.index, near.distance, counts);
    const changed = moved > 0 || it === 0 || !sameArray(near.index, assignments);
    assignments = near.index;
    distance = near.distance;
    if (!changed || (it === iters && moved === 0)) break;
    const next = tf.tensor2d(clusterMeans(data, n, d, assignments, counts, k), [k, d]);
    centroids.dispose();
    centroids = next;
    iterations = it + 1;
    if (it === iters) {
      // Empty clusters were refilled at the last assignment: their centres have now moved onto
      // the points they took (without this update those codes would sit where no point is nearest
      // and stay unused). Re-assign once, without refilling, so that `assignments`, `counts` and
      // `distance` are those of the returned centres.
      const last = await nearestCodes(x, centroids);
      assignments = last.index;
      distance = last.distance;
      counts = bincount(assignments, k);
    }
  }
  let inertia = 0;
  for (const v of distance) inertia += v;
  return { centroids, assignments, counts, inertia, iterations };
}

/**
 * k-means++ seeding: the K chosen rows of `data` ([n, d] row-major, the host copy of `x`) as a
 * [K, d] row-major array. With fewer distinct points than K, the remaining centres are drawn
 * uniformly (they duplicate existing points).
 *
 * Each of the K - 1 distance updates is one vector-matrix product c^T x^T on the active backend
 * (its matmul kernel: XNNPACK on wasm, BLAS where built) read back as N numbers; the squared distance
 * ||x_i||^2 + ||c||^2 - 2 x_i.c (clamped at 0), the running minimum, its total and the draw run
 * on the host in float64, as the numpy peer does. A host loop over the N x d differences was 3-5
 * times slower than the backend's product.
 */
async function kmeansPlusPlus(
  x: tf.Tensor2D,
  data: Float32Array,
  k: number,
  rng: Rng,
): Promise<Float32Array> {
  const [n, d] = x.shape;
  const chosen: number[] = [rng.int(n)];
  const minDist = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += data[i * d + t]! * data[i * d + t]!;
    norms[i] = s;
  }
  // x^T once, then one row times it per seed: on wasm c^T x^T ran 2.5-5x faster than the
  // one-column x c (measured alternating in one process; the right operand, x^T, stays the same
  // tensor for every seed).
  const xT = tf.transpose(x) as tf.Tensor2D;
  try {
    for (let c = 1; c < k; c++) {
      const row = chosen[chosen.length - 1]!;
      const centre = tf.tensor2d(data.subarray(row * d, (row + 1) * d), [1, d]);
      const product = tf.matMul(centre, xT);
      let dots: Float32Array;
      try {
        dots = (await product.data()) as Float32Array;
      } finally {
        tf.dispose([centre, product]);
      }
      const cc = norms[row]!;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const s = Math.max(norms[i]! + cc - 2 * dots[i]!, 0);
        if (s < minDist[i]!) minDist[i] = s;
        total += minDist[i]!;
      }
      if (!(total > 0)) {
        chosen.push(rng.int(n));
        continue;
      }
      let r = rng.float() * total;
      let pick = n - 1;
      for (let i = 0; i < n; i++) {
        r -= minDist[i]!;
        if (r < 0) {
          pick = i;
          break;
        }
      }
      chosen.push(pick);
    }
  } finally {
    xT.dispose();
  }
  const out = new Float32Array(k * d);
  chosen.forEach((row, j) => {
    out.set(data.subarray(row * d, (row + 1) * d), j * d);
  });
  return out;
}

/**
 * Mean of each cluster's points ([K, d] row-major; sums in float64, one float32 rounding of each
 * mean); a cluster without points gets the zero vector.
 */
function clusterMeans(
  data: Float32Array,
  n: number,
  d: number,
  assignments: Int32Array,
  counts: Int32Array,
  k: number,
): Float32Array {
  const sums = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    const src = i * d;
    const dst = assignments[i]! * d;
    for (let t = 0; t < d; t++) sums[dst + t] = sums[dst + t]! + data[src + t]!;
  }
  const out = new Float32Array(k * d);
  for (let j = 0; j < k; j++) {
    const c = Math.max(counts[j]!, 1);
    for (let t = 0; t < d; t++) out[j * d + t] = sums[j * d + t]! / c;
  }
  return out;
}

function bincount(index: Int32Array, k: number): Int32Array {
  const counts = new Int32Array(k);
  for (const i of index) counts[i]!++;
  return counts;
}

/**
 * Gives every empty cluster the point farthest from its own centre, taken only from clusters with
 * more than one point. Mutates `index`, `distance` and `counts`; returns how many points moved.
 */
function fillEmptyClusters(index: Int32Array, distance: Float32Array, counts: Int32Array): number {
  const empty: number[] = [];
  counts.forEach((c, j) => {
    if (c === 0) empty.push(j);
  });
  if (empty.length === 0) return 0;
  const order = Array.from(index.keys()).sort((a, b) => distance[b]! - distance[a]! || a - b);
  let moved = 0;
  let p = 0;
  for (const j of empty) {
    while (p < order.length && counts[index[order[p]!]!]! <= 1) p++;
    if (p >= order.length) break;
    const i = order[p++]!;
    counts[index[i]!]!--;
    index[i] = j;
    counts[j] = 1;
    distance[i] = 0;
    moved++;
  }
  return moved;
}

function sameArray(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
