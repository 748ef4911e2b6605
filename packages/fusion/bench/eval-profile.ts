// Where MME-SID's full-ranking evaluation spends its time: a model built like apps/reproduce's study
// builds it (MME-SID, stories260k, the default prompt, items at the end = efficient mode), scored on
// the first --users Beauty test users in batches of --batch. Prints the time per user of the parts
// (LLM forward incl. the shared prefix, item tokenizer, score head, evaluator count) and a tf.profile
// of one batch (kernel count, time per kernel name). Prints only (issue 18's evaluation speed).
// Run: pnpm --filter @mmesid/fusion exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs bench/eval-profile.ts [--users 512 --batch 16]
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rankTargets } from '@mmesid/metrics';
import { type BackendName, initBackend, tf } from '@mmesid/tensor';
import { createMmeSid, evaluateMmeSid, FrozenScorer, lengthBatches } from '../src/index.js';
import { beautySetup } from './beauty-setup.js';
import { summarizeProfile } from './profile-summary.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    users: { type: 'string', default: '512' },
    batch: { type: 'string', default: '16' },
    'frozen-batch': { type: 'string', default: '64' },
    data: { type: 'string', default: resolve(here, '../../../../shared/datasets/beauty') },
    llama: { type: 'string', default: resolve(here, '../../../../shared/models/stories260k') },
  },
});
await initBackend({ require: args.backend as BackendName, log: false });
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
console.log(`[eval-profile] load average ${load()}`);
const { N, split, tables, semanticIds, frequency } = await beautySetup(args.data);
const model = await createMmeSid({
  variant: 'MME-SID',
  config: { itemsAtEnd: true, seed: 1 },
  numItems: N,
  tables,
  semanticIds,
  frequency,
  llama: args.llama,
});
model.eval();
const users = split.test.slice(0, Number(args.users));
const B = Number(args.batch);
const lens = users.map((u) => u.history.length);
console.log(
  `[eval-profile] prompt ${model.prompt.prefix.length}+${model.prompt.suffix.length} tokens, ${users.length} users, history length mean ${(lens.reduce((a, b) => a + b, 0) / lens.length).toFixed(1)} max ${Math.max(...lens)}, batch ${B}`,
);

await evaluateMmeSid(model, users.slice(0, 2 * B), { batchSize: B }); // warm-up
for (const [label, o] of [
  ['model.score, input order', { batchSize: B, order: 'input', scorer: 'model' }],
  ['frozen scorer, length-sorted', { batchSize: Number(args['frozen-batch']), batchTokens: 1024 }],
] as const) {
  const whole = await evaluateMmeSid(model, users, o);
  console.log(
    `[eval-profile] evaluateMmeSid (${label}, batch ${o.batchSize}): ${((1000 * whole.seconds) / users.length).toFixed(2)} ms/user (${(users.length / whole.seconds).toFixed(1)} users/s)`,
  );
}

// The parts, each timed over the same batches (forced with dataSync so the time is the part's own).
type Parts = Record<'tokens' | 'llm' | 'head' | 'count', number>;
const time = async (parts: Parts, key: keyof Parts, f: () => tf.Tensor | Promise<unknown>) => {
  const t0 = performance.now();
  const r = await f();
  if (r instanceof tf.Tensor) r.dataSync();
  parts[key] += performance.now() - t0;
  return r;
};
/** The evaluator's count for one batch: each target's rank among all items, its history masked. */
const count = (s: tf.Tensor2D, batch: typeof users) =>
  rankTargets(
    s,
    batch.map((p) => p.target),
    batch.map((p) => p.history),
    { numItems: N },
  );
const report = (label: string, parts: Parts) => {
  console.log(`[eval-profile] ${label}:`);
  for (const [k, ms] of Object.entries(parts))
    console.log(`[eval-profile]   ${k.padEnd(7)} ${(ms / users.length).toFixed(2)} ms/user`);
};
const old: Parts = { tokens: 0, llm: 0, head: 0, count: 0 };
for (let i = 0; i < users.length; i += B) {
  const batch = users.slice(i, i + B);
  const hs = batch.map((p) => p.history);
  const flat = Int32Array.from(hs.flatMap((h) => Array.from(h)));
  const tok = (await time(old, 'tokens', () =>
    tf.tidy(() => model.itemTokenizer.forward(tf.tensor1d(flat, 'int32'))),
  )) as tf.Tensor;
  tok.dispose();
  const u = (await time(old, 'llm', () => model.userRepresentations(hs))) as tf.Tensor2D;
  const s = (await time(old, 'head', () => model.scoreRepresentations(u))) as tf.Tensor2D;
  await time(old, 'count', () => count(s, batch));
  tf.dispose([u, s]);
}
report(
  `model.score path, input order, batch ${B} (llm includes the item tokenizer; tokens is it alone)`,
  old,
);
const FB = Number(args['frozen-batch']);
const frozen: Parts = { tokens: 0, llm: 0, head: 0, count: 0 };
const tBuild = performance.now();
const scorer = new FrozenScorer(model);
frozen.tokens += performance.now() - tBuild;
const weights = model.fusionWeights();
for (const idx of lengthBatches(
  users.map((p) => p.history.length),
  FB,
  1024,
)) {
  const batch = idx.map((i) => users[i]!);
  const hs = batch.map((p) => p.history);
  const u = (await time(frozen, 'llm', () => scorer.userRepresentations(hs))) as tf.Tensor2D;
  const s = (await time(frozen, 'head', () =>
    model.head.forward(u, model.itemTokenizer, weights),
  )) as tf.Tensor2D;
  await time(frozen, 'count', () => count(s, batch));
  tf.dispose([u, s]);
}
report(
  `frozen scorer, length-sorted, batch <= ${FB}, <= 1024 tokens (tokens: building the scorer once: all item tokens, prefix, weights)`,
  frozen,
);

const batch = users.slice(0, B);
const hs = batch.map((p) => p.history);
const show = async (label: string, f: () => tf.TensorContainer | Promise<unknown>) => {
  const p = await tf.profile(f as () => tf.TensorContainer);
  const { kernels, ms, lines } = summarizeProfile(p, 14, 1);
  console.log(`[eval-profile] ${label}: ${kernels} kernels, ${ms.toFixed(1)} ms${lines.join('')}`);
};
await show(`one batch of ${B}: user representations`, () => {
  model.userRepresentations(hs).dispose();
  return [];
});
await show(`one batch of ${B}: score head`, () => {
  tf.tidy(() => model.scoreRepresentations(model.userRepresentations(hs)).dispose());
  return [];
});
// The frozen path on the batch of median-length users (length-sorted, at most FB users).
const sorted = [...users].sort((a, b) => a.history.length - b.history.length);
const mid = sorted.slice(Math.floor(sorted.length / 2) - FB / 2).slice(0, FB);
const midLen = mid[mid.length - 1]!.history.length;
const midHs = mid.slice(0, Math.max(1, Math.min(FB, Math.floor(1024 / midLen)))).map((p) => p.history);
await show(`frozen scorer, ${midHs.length} users of length <= ${midLen}: user representations`, () => {
  scorer.userRepresentations(midHs).dispose();
  return [];
});
await show(`frozen scorer, ${midHs.length} users: score head`, () => {
  tf.tidy(() =>
    model.head.forward(scorer.userRepresentations(midHs), model.itemTokenizer, weights).dispose(),
  );
  return [];
});
scorer.dispose();
weights.dispose();
console.log(`[eval-profile] load average ${load()}`);
model.dispose();
process.exit(0);
