import { type BackendChoice, formatChoice, type InitBackendOptions, initBackend } from './backend.js';
import { tf } from './tf.js';

export interface MatmulFigure {
  n: number;
  gflops: number;
  msPerOp: number;
}

/**
 * Mean milliseconds per call of `run`: one warm-up call, then calls until `minMs` have passed (at
 * least two). For benchmarks; `run` should wait for its results (e.g. `await t.data()`).
 */
export async function timePerCall(run: () => Promise<void>, minMs = 300): Promise<number> {
  await run();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || reps < 2) {
    await run();
    reps++;
  }
  return (performance.now() - t0) / reps;
}

/**
 * Times an n x n x n f32 matmul on the active backend (after a warm-up) and returns GFLOP/s,
 * counting 2n^3 floating-point operations per product.
 */
export async function measureMatmul(n: number, minMs = 300): Promise<MatmulFigure> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  const ms = await timePerCall(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, minMs);
  a.dispose();
  b.dispose();
  return { n, msPerOp: ms, gflops: (2 * n ** 3) / (ms * 1e6) };
}

export interface BackendReport {
  choice: BackendChoice;
  tfBackend: string;
  matmul: MatmulFigure[];
  text: string;
}

/**
 * Starts the best backend (or the one asked for) and reports it: which backend, why better ones
 * were skipped, the GPU adapter, and f32 matmul throughput at the given sizes.
 */
export async function backendReport(
  opts: InitBackendOptions & { sizes?: number[] } = {},
): Promise<BackendReport> {
  const choice = await initBackend({ ...opts, log: false });
  const matmul: MatmulFigure[] = [];
  for (const n of opts.sizes ?? [256, 1024]) matmul.push(await measureMatmul(n));
  const text = [
    formatChoice(choice),
    ...matmul.map(
      (m) => `[mmesid]   matmul ${m.n}x${m.n}: ${m.gflops.toFixed(2)} GFLOP/s (${m.msPerOp.toFixed(1)} ms)`,
    ),
  ].join('\n');
  return { choice, tfBackend: tf.getBackend(), matmul, text };
}
