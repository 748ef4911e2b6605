// A/B of the score head's one-kernel ops against their composites at the fine-tuning step's size
// (MME-SID, Beauty: 12,088 score columns, 4 terms, 93 score rows = one micro-batch of 16 sequences):
// CPU time of the process per forward + backward of sum_j w_j t_j followed by the mean
// cross-entropy, each op as its composite or as its kernel (JS loops on cpu, WebAssembly SIMD on
// wasm). Prints only (figures for issue 18).
// Run: pnpm --filter @mmesid/fusion exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs bench/score-head-ab.ts [--backend wasm] [--rows 93]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  type BackendName,
  initBackend,
  Rng,
  registerSoftmaxCrossEntropy,
  registerWeightedTermSum,
  softmaxCrossEntropy,
  softmaxCrossEntropyComposite,
  tf,
  weightedTermSum,
  weightedTermSumComposite,
} from '@mmesid/tensor';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    rows: { type: 'string', default: '93' },
    reps: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '5' },
  },
});
await initBackend({ require: args.backend as BackendName, log: false });
// initBackend registers both kernels for cpu and wasm; again here in case that changes.
registerWeightedTermSum([args.backend as 'cpu' | 'wasm']);
registerSoftmaxCrossEntropy([args.backend as 'cpu' | 'wasm']);
const rng = new Rng(1);
const [B, N, J] = [Number(args.rows), 12088, 4];
const terms = Array.from({ length: J }, () =>
  tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(B * N), 0, 1), [B, N])),
);
const w = tf.variable(tf.tensor2d(rng.fillNormal(new Float32Array(N * J), 0, 1), [N, J]));
const targets = Array.from({ length: B }, (_, i) => (i * 131) % N);
const tt = tf.tensor1d(targets, 'int32');
type Sum = 'composite' | 'kernel';
const sums: Record<Sum, typeof weightedTermSum> = {
  composite: weightedTermSumComposite,
  kernel: weightedTermSum,
};
const step = (sum: Sum, fusedCe: boolean) => {
  const { value, grads } = tf.variableGrads(() => {
    const s = sums[sum](terms, w);
    return tf.mean(
      fusedCe ? softmaxCrossEntropy(s, targets) : softmaxCrossEntropyComposite(s, tt),
    ) as tf.Scalar;
  });
  tf.dispose([value, ...Object.values(grads)]);
};
console.log(`[score-head-ab] ${args.backend}, [${B}, ${N}] x ${J} terms, load ${loadavg()[0]!.toFixed(2)}`);
const sides: Array<[string, Sum, boolean]> = [
  ['composite sum + composite CE', 'composite', false],
  ['composite sum + CE kernel', 'composite', true],
  ['sum kernel + composite CE', 'kernel', false],
  ['sum kernel + CE kernel', 'kernel', true],
];
const best = new Map<string, number>();
for (let r = 0; r < Number(args.rounds); r++)
  for (const [label, fs, fc] of sides) {
    step(fs, fc);
    const c0 = process.cpuUsage();
    for (let i = 0; i < Number(args.reps); i++) step(fs, fc);
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000 / Number(args.reps);
    best.set(label, Math.min(best.get(label) ?? Number.POSITIVE_INFINITY, ms));
    console.log(`[score-head-ab] round ${r + 1} ${label}: ${ms.toFixed(1)} ms CPU per forward + backward`);
  }
for (const [label, ms] of best) console.log(`[score-head-ab] best ${label}: ${ms.toFixed(1)} ms CPU`);
process.exit(0);
