// Throughput of MME-SID fine-tuning and evaluation at Beauty scale on this machine: the authors'
// Amazon Beauty sequences (12,086 items, 22,363 users) with the authors' SASRec table as the
// collaborative modality, stories260k as the LLM. Text/visual tables and semantic IDs are seeded
// random stand-ins of the tiny preset's shapes (64-wide tables, L = 4, K = 256, eDim 64): the cost
// does not depend on their values. Measures paper vs efficient training mode and both prompts,
// writes benchmarks/results/fusion.json. Run: pnpm --filter @mmesid/fusion bench [--backend wasm --steps 20]
// The budget is optimizer steps (16 sequences or pairs each), timed: the same work on any machine.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BackendName, initBackend, tf } from '@mmesid/tensor';
import { evaluateMmeSid, type MmeSidModel, type PromptStyle, trainMmeSid } from '../src/index.js';
import { beautyBenchModel, beautySetup, benchTrainOptions } from './beauty-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '20' },
    data: { type: 'string', default: resolve(here, '../../../../shared/datasets/beauty') },
    llama: { type: 'string', default: resolve(here, '../../../../shared/models/stories260k') },
    'eval-users': { type: 'string', default: '256' },
  },
});
const steps = Number(args.steps);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps ${args.steps}: a positive integer`);

await initBackend({ require: args.backend as BackendName, log: false });
const setup = await beautySetup(args.data);
const { dataset, N, split } = setup;

function build(style: PromptStyle, itemsAtEnd: boolean): Promise<MmeSidModel> {
  return beautyBenchModel(setup, args.llama, { promptStyle: style, itemsAtEnd });
}

const results: Record<string, unknown>[] = [];
// The study presets (apps/reproduce) train with micro-batches of 16: fewer, larger kernels per pair.
for (const [style, mode, microBatch] of [
  ['plain', 'paper', 4],
  ['minimal', 'paper', 4],
  ['minimal', 'efficient', 4],
  ['minimal', 'efficient', 16],
] as const) {
  const model = await build(style, mode === 'efficient');
  const prompt = { prefix: model.prompt.prefix.length, suffix: model.prompt.suffix.length };
  // One warm-up step outside the timing, then `steps` optimizer steps (micro 4, effective 16), timed.
  const common = benchTrainOptions(microBatch, mode);
  await trainMmeSid(model, split.train, { ...common, maxSteps: 1 }, { log: () => {} });
  const r = await trainMmeSid(model, split.train, { ...common, maxSteps: steps }, { log: () => {} });
  const pairsPerSecond = r.examplesSeen / r.seconds;
  const epochHours = r.pairs / pairsPerSecond / 3600;
  const evalUsers = split.test.slice(0, Number(args['eval-users']));
  const ev = await evaluateMmeSid(model, evalUsers, { batchSize: 16 });
  const row = {
    prompt: style,
    promptTokens: prompt,
    mode,
    microBatch,
    optimizerSteps: r.optimizerSteps,
    pairsSeen: r.examplesSeen,
    seconds: Number(r.seconds.toFixed(2)),
    pairsPerSecond: Number(pairsPerSecond.toFixed(2)),
    hoursPerEpoch: Number(epochHours.toFixed(2)),
    forwardUnitsPerEpoch: r.forwardUnits,
    evalUsersPerSecond: Number((evalUsers.length / ev.seconds).toFixed(2)),
    hoursToEvaluateAllTestUsers: Number(
      (split.test.length / (evalUsers.length / ev.seconds) / 3600).toFixed(3),
    ),
    trainable: r.parameters.text,
    modeNote: r.modeNote,
  };
  results.push(row);
  console.log(
    `${style.padEnd(8)} ${mode.padEnd(9)} micro ${String(microBatch).padEnd(2)} prompt ${prompt.prefix}+${prompt.suffix} tokens: ${row.pairsPerSecond} pairs/s (${row.hoursPerEpoch} h/epoch of ${r.pairs} pairs), eval ${row.evalUsersPerSecond} users/s`,
  );
  model.dispose();
}

const out = {
  name: 'fusion',
  command: `pnpm --filter @mmesid/fusion bench --backend ${args.backend} --steps ${steps}`,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg() },
  backend: tf.getBackend(),
  dataset: {
    name: dataset.name,
    numItems: N,
    users: dataset.sequences.length,
    trainPairs: split.train.length,
    testUsers: split.test.length,
  },
  llm: 'stories260k (d 64, 5 layers)',
  standIns:
    'text/visual tables (64-wide, random) and semantic IDs (L 4, K 256, eDim 64, random) replace the real ones; cost does not depend on values',
  optimizerStepsTimed: steps,
  results,
};
const file = resolve(here, '../../../benchmarks/results/fusion.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.log(`wrote ${file}`);
