// Where one MME-SID fine-tuning step spends its time: the fusion bench's Beauty-scale model
// (stories260k, MME-SID, minimal prompt, efficient mode, micro-batch 4 or --micro, 16 sequences per optimizer
// step), timed over a few optimizer steps (pairs/s) and profiled with tf.profile over one step:
// kernel count, time per kernel name. Prints only (figures for the speed work of issue 18).
// Run: pnpm --filter @mmesid/fusion exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs bench/step-profile.ts [--steps 3]
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ADAMW_UPDATE, type BackendName, initBackend, tf } from '@mmesid/tensor';
import { trainMmeSid } from '../src/index.js';
import { beautyBenchModel, beautySetup, benchTrainOptions } from './beauty-setup.js';
import { summarizeProfile } from './profile-summary.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    micro: { type: 'string', default: '4' },
    data: { type: 'string', default: resolve(here, '../../../../shared/datasets/beauty') },
    llama: { type: 'string', default: resolve(here, '../../../../shared/models/stories260k') },
  },
});
await initBackend({ require: args.backend as BackendName, log: false });
console.log(
  `[step-profile] load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
const setup = await beautySetup(args.data);
const { dataset, split } = setup;
const model = await beautyBenchModel(setup, args.llama);
const common = benchTrainOptions(Number(args.micro));
await trainMmeSid(model, split.train, { ...common, maxSteps: 1 }, { log: () => {} });
const steps = Number(args.steps);
// Each lever switched off and on in alternation, same model and machine (the load changes by the minute).
const adamwKernel = tf.getKernel(ADAMW_UPDATE, tf.getBackend());
const setFusedAdamW = (on: boolean) => {
  if (!adamwKernel) return;
  if (!on && tf.getKernel(ADAMW_UPDATE, tf.getBackend())) tf.unregisterKernel(ADAMW_UPDATE, tf.getBackend());
  if (on && !tf.getKernel(ADAMW_UPDATE, tf.getBackend())) tf.registerKernel(adamwKernel);
};
const rates: Record<string, number[]> = { 'fused AdamW': [], 'composite AdamW': [] };
for (let round = 0; round < Number(args.rounds); round++) {
  for (const on of [false, true]) {
    setFusedAdamW(on);
    const r = await trainMmeSid(model, split.train, { ...common, maxSteps: steps }, { log: () => {} });
    const rate = r.examplesSeen / r.seconds;
    rates[on ? 'fused AdamW' : 'composite AdamW']!.push(rate);
    console.log(
      `[step-profile] ${on ? 'fused' : 'composite'} AdamW: ${r.optimizerSteps} steps, ${r.examplesSeen} pairs in ${r.seconds.toFixed(2)} s: ${rate.toFixed(1)} pairs/s, ${((1000 * r.seconds) / r.optimizerSteps).toFixed(0)} ms/step`,
    );
  }
}
setFusedAdamW(true);
for (const [k, v] of Object.entries(rates))
  console.log(
    `[step-profile] ${k}: best ${Math.max(...v).toFixed(1)} pairs/s of [${v.map((x) => x.toFixed(1)).join(', ')}]`,
  );
const info = await tf.profile(async () => {
  await trainMmeSid(model, split.train, { ...common, maxSteps: 1 }, { log: () => {} });
});
const byName = new Map<string, { n: number; ms: number }>();
for (const k of info.kernels) {
  const e = byName.get(k.name) ?? { n: 0, ms: 0 };
  e.n++;
  e.ms += Number(k.kernelTimeMs) || 0;
  byName.set(k.name, e);
}
const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
console.log(`[step-profile] one step: ${info.kernels.length} kernels, ${total.toFixed(0)} ms kernel time`);
for (const [name, e] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30))
  console.log(`  ${name.padEnd(28)} ${String(e.n).padStart(6)} x  ${e.ms.toFixed(1).padStart(8)} ms`);

// The parts of one micro-batch of 4 sequences: forward, forward + backward, an AdamW update.
const requests = dataset.sequences.slice(0, Number(args.micro)).map((seq) => {
  const train = seq.subarray(0, Math.max(2, seq.length - 2));
  const items = train.subarray(0, train.length - 1);
  return {
    items,
    prefixLengths: Array.from(items, (_, i) => i + 1),
    targets: Array.from(items, (_, i) => train[i + 1]!),
  };
});
const targets = requests.flatMap((q) => q.targets);
const allItems = requests.flatMap((q) => [...Array.from(q.items), ...q.targets]);
const lossFn = () =>
  model.lossFromScores(
    model.scoreRepresentations(model.prefixRepresentations(requests)),
    targets,
    undefined,
    allItems,
  );
const vars = model.trainableParameters();
const show = async (label: string, f: () => tf.TensorContainer) => {
  f(); // warm-up
  const p = await tf.profile(f);
  const { kernels, ms, lines } = summarizeProfile(p, 10, 0);
  console.log(`[step-profile] ${label}: ${kernels} kernels, ${ms.toFixed(0)} ms; ${lines.join(', ')}`);
};
await show(`micro-batch forward (${args.micro} sequences)`, () => {
  tf.tidy(() => lossFn().dispose());
  return [];
});
await show('micro-batch forward + backward', () => {
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(lossFn, [...vars.values()] as tf.Variable[]);
    tf.dispose([value, ...Object.values(grads)]);
  });
  return [];
});
model.dispose();
process.exit(0);
