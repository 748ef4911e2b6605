// MME-SID's full-ranking evaluation on Beauty, before and after the frozen scorer, beside a PyTorch
// peer doing the same evaluation (apps/bench/peers/finetune.py eval). The model is built as
// apps/reproduce's study builds it: MME-SID on stories260k with the default (plain, 96-token) prompt,
// items at the end (efficient mode), fusion temperature 1, the authors' Beauty test users and SASRec
// table, seeded stand-ins for the text/visual tables and semantic IDs (packages/fusion/bench/
// beauty-setup.ts' seeds), LoRA B seeded non-zero so the adapters take part.
//
// Sides, interleaved per round on the same users:
// - before: `evaluateMmeSid(model, users, { batchSize: 16, order: 'input', scorer: 'model' })`, what
//   the study ran until now (model.score per batch of 16 in input order: the prefix, its tiling, the
//   item tokens and the fusion weights every batch);
// - after: `evaluateMmeSid(model, users, { batchSize, batchTokens })` with each `--after` setting
//   (length-sorted batches through the FrozenScorer).
// Ranks of every side are compared with the first "before" run's (count and largest difference);
// each user whose rank differs is re-scored both ways and the items that changed side of the target
// are listed with their score gaps against the row's largest score change (a float32-rounding tie
// when the gap is within it). A control runs the before path with batches of 32 (the old path's own
// sensitivity to batching). Times: wall and process CPU per user, best of the rounds; the load
// average at start and end. Writes benchmarks/results/speed-eval.json (`--out=NAME`: NAME.json).
// Run: pnpm --filter @mmesid/bench speed:eval [--users=2048 --rounds=2 --after=128:2048,32:512 --peer=1 --control=1]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EvaluateOptions, evaluateMmeSid, FrozenScorer, lengthBatches } from '@mmesid/fusion';
import { beautyBenchModel, beautySetup } from '@mmesid/fusion/bench-setup';
import { initBackend } from '@mmesid/tensor';
import { seedLoraB, writePeerModel } from './peer-model.js';
import { writeResult } from './write-result.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Map(
  process.argv.slice(2).flatMap((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    return m ? [[m[1]!, m[2]!] as const] : [];
  }),
);
const beautyDir =
  args.get('beauty') ?? process.env.BEAUTY_DIR ?? join(here, '../../../../shared/datasets/beauty');
const llamaDir = args.get('llama') ?? join(here, '../../../../shared/models/stories260k');
const python = args.get('python') ?? process.env.MMESID_PEER_PYTHON ?? '/usr/bin/python3';
const ROUNDS = Number(args.get('rounds') ?? 2);
const PEER = args.get('peer') !== '0';
const AFTER = (args.get('after') ?? '64:1024').split(',').map((s) => {
  const [b, t] = s.split(':').map(Number);
  return { batchSize: b!, batchTokens: t! };
});
const BEFORE: EvaluateOptions = { batchSize: 16, order: 'input', scorer: 'model' };
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const loadStart = loadavg();

const backend = await initBackend({ require: 'wasm', log: false, nativeBlas: false, ignoreEnv: true });
// The fusion bench's inputs (packages/fusion/bench/beauty-setup.ts, same seeds), the study's prompt.
const setup = await beautySetup(beautyDir);
const { N, split } = setup;
const model = await beautyBenchModel(setup, llamaDir, {
  promptStyle: 'default',
  config: { seed: 1, fusion: { temperature: 1 } },
});
seedLoraB(model, 'speed-eval:lora_B');
model.eval();

const USERS = Math.min(Number(args.get('users') ?? 2048), split.test.length);
const users = split.test.slice(0, USERS);
const lengths = users.map((u) => u.history.length);
console.log(
  `[speed-eval] ${USERS} Beauty test users (history length mean ${(lengths.reduce((a, b) => a + b, 0) / USERS).toFixed(1)}, max ${Math.max(...lengths)}), prompt ${model.prompt.prefix.length}+${model.prompt.suffix.length} tokens, ${N + 1} ids, load ${loadStart.map((v) => v.toFixed(2)).join(' ')}`,
);

type Run = { seconds: number; cpuSeconds: number; ranks: Int32Array; hits10: number };
async function timed(o: EvaluateOptions): Promise<Run> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await evaluateMmeSid(model, users, o);
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  let hits10 = 0;
  for (const x of r.ranks) if (x <= 10) hits10++;
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, ranks: r.ranks, hits10 };
}
function compare(a: Int32Array, b: ArrayLike<number>): { differ: number; maxDiff: number } {
  let differ = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i]) {
      differ++;
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    }
  return { differ, maxDiff };
}

const sides = [
  { label: 'before: model.score, input order, batch 16', opts: BEFORE },
  ...AFTER.map((a) => ({
    label: `after: frozen scorer, length-sorted, batchSize ${a.batchSize}, batchTokens ${a.batchTokens}`,
    opts: a as EvaluateOptions,
  })),
];
await evaluateMmeSid(model, users.slice(0, 64), {}); // warm-up (kernels, tables)
const runs = new Map<string, Run[]>(sides.map((s) => [s.label, []]));
let reference: Int32Array | undefined;
for (let r = 0; r < ROUNDS; r++)
  for (const s of sides) {
    const run = await timed(s.opts);
    reference ??= run.ranks;
    runs.get(s.label)!.push(run);
    const cmp = compare(run.ranks, reference);
    console.log(
      `[speed-eval] round ${r + 1} ${s.label}: ${((1000 * run.seconds) / USERS).toFixed(2)} ms/user (${(USERS / run.seconds).toFixed(1)} users/s), CPU ${((1000 * run.cpuSeconds) / USERS).toFixed(2)} ms/user, HR@10 count ${run.hits10}, ranks differing from before ${cmp.differ} (max ${cmp.maxDiff}), load ${loadavg()[0]!.toFixed(2)}`,
    );
  }

// Control: the before path itself with batches of 32 in input order (other padding per row).
let control: { differ: number; maxDiff: number } | undefined;
if (args.get('control') !== '0') {
  const run = await timed({ ...BEFORE, batchSize: 32 });
  control = compare(run.ranks, reference!);
  console.log(
    `[speed-eval] control: model.score, input order, batch 32: ranks differing from batch 16 ${control.differ} (max ${control.maxDiff})`,
  );
}

// Every user whose rank differs between before and after (after's first setting, first round): the
// items that changed side of the target, with their score gaps before and after, against the largest
// change of any score in that user's row (both rows recomputed in the batch each side used).
const firstAfter = runs.get(sides[1]!.label)![0]!;
const differing: number[] = [];
for (let i = 0; i < USERS; i++) if (firstAfter.ranks[i] !== reference![i]) differing.push(i);
const plan = lengthBatches(lengths, AFTER[0]!.batchSize, AFTER[0]!.batchTokens);
const batchOf = new Map<number, number[]>();
for (const b of plan) for (const u of b) batchOf.set(u, b);
const scorer = new FrozenScorer(model);
const rankDifferences = [];
for (const u of differing.slice(0, 1000)) {
  const s0 = u - (u % 16);
  const oldBatch = users.slice(s0, s0 + 16).map((p) => p.history);
  const oldT = model.score(oldBatch);
  const old = (await oldT.data()).subarray((u - s0) * (N + 1), (u - s0 + 1) * (N + 1));
  oldT.dispose();
  const nb = batchOf.get(u)!;
  const newT = scorer.score(nb.map((j) => users[j]!.history));
  const neu = (await newT.data()).subarray(nb.indexOf(u) * (N + 1), (nb.indexOf(u) + 1) * (N + 1));
  newT.dispose();
  const t = users[u]!.target;
  const hist = new Set(Array.from(users[u]!.history));
  let rowMaxAbsChange = 0;
  const flipped: { item: number; gapBefore: number; gapAfter: number }[] = [];
  for (let i = 0; i <= N; i++) {
    rowMaxAbsChange = Math.max(rowMaxAbsChange, Math.abs(old[i]! - neu[i]!));
    if (i === t || hist.has(i)) continue;
    if (old[i]! >= old[t]! !== neu[i]! >= neu[t]!)
      flipped.push({ item: i, gapBefore: old[i]! - old[t]!, gapAfter: neu[i]! - neu[t]! });
  }
  const tie = flipped.every((f) => Math.abs(f.gapBefore) <= 2 * rowMaxAbsChange);
  rankDifferences.push({
    user: u,
    historyLength: lengths[u],
    rankBefore: reference![u],
    rankAfter: firstAfter.ranks[u],
    targetScore: old[t],
    rowMaxAbsChange,
    flipped,
    withinRounding: tie,
  });
}
scorer.dispose();
const allTies = rankDifferences.every((d) => d.withinRounding);
console.log(
  `[speed-eval] ${differing.length} of ${USERS} ranks differ (after's first setting vs before); ${rankDifferences.filter((d) => d.withinRounding).length} of the ${rankDifferences.length} examined are ties within the row's float32 change: ${JSON.stringify(rankDifferences.slice(0, 3))}`,
);

// The torch peer: the same weights, users and batching (after's first setting), one thread.
let peer: Record<string, unknown> = {};
if (PEER) {
  const dir = mkdtempSync(join(tmpdir(), 'mmesid-speed-eval-'));
  try {
    const meta = {
      model: await writePeerModel(dir, model),
      trainable: [],
      prefix: [...model.prompt.prefix],
      eval: {
        histories: users.map((u) => Array.from(u.history)),
        targets: users.map((u) => u.target),
        ...AFTER[0]!,
      },
    };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    const out = execFileSync(python, [join(here, '..', 'peers', 'finetune.py'), 'eval', dir, '1'], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    peer = JSON.parse(out.trim().split('\n').pop()!);
    const cmp = compare(reference!, peer.ranks as number[]);
    const s = peer.seconds as number;
    console.log(
      `[speed-eval] torch ${peer.torch} (1 thread): ${((1000 * s) / USERS).toFixed(2)} ms/user (${(USERS / s).toFixed(1)} users/s), HR@10 count ${peer.hits10}, ranks differing from mmesid before ${cmp.differ} (max ${cmp.maxDiff})`,
    );
    peer = {
      ...peer,
      ranks: undefined,
      ranksDifferingFromBefore: cmp.differ,
      maxRankDifference: cmp.maxDiff,
    };
  } catch (e) {
    peer = { skipped: `finetune.py eval failed: ${(e as Error).message.split('\n').slice(0, 5).join(' ')}` };
    console.warn(`[speed-eval] ${peer.skipped}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const best = (label: string) => {
  const rs = runs.get(label)!;
  const seconds = Math.min(...rs.map((r) => r.seconds));
  const cpuSeconds = Math.min(...rs.map((r) => r.cpuSeconds));
  const cmp = rs.map((r) => compare(r.ranks, reference!));
  return {
    msPerUser: round((1000 * seconds) / USERS, 2),
    usersPerSecond: round(USERS / seconds, 1),
    cpuMsPerUser: round((1000 * cpuSeconds) / USERS, 2),
    secondsPerRound: rs.map((r) => round(r.seconds, 2)),
    hits10: rs[0]!.hits10,
    ranksDifferingFromBefore: Math.max(...cmp.map((c) => c.differ)),
    maxRankDifference: Math.max(...cmp.map((c) => c.maxDiff)),
  };
};
const rows = sides.map((s) => ({ side: s.label, options: s.opts, ...best(s.label) }));
const before = rows[0]!;
const loadEnd = loadavg();
const result = {
  name: 'speed-eval',
  command: `pnpm --filter @mmesid/bench speed:eval ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: loadEnd },
  backend: backend.name,
  workload: `MME-SID full ranking (history masked) of the first ${USERS} Beauty test users over ${N + 1} ids; stories260k, plain prompt (${model.prompt.prefix.length} tokens), items at the end; best of ${ROUNDS} interleaved rounds`,
  rows: rows.map((r) => ({
    ...r,
    speedupOverBefore: round(before.msPerUser / r.msPerUser, 2),
    studyMinutesPerVariantSeed: round((r.msPerUser * split.test.length) / 60000, 2),
  })),
  control: control
    ? {
        side: 'model.score, input order, batch 32 (the before path with other batches)',
        ranksDifferingFromBefore: control.differ,
        maxRankDifference: control.maxDiff,
      }
    : { skipped: '--control=0' },
  rankDifferences: {
    users: differing.length,
    examined: rankDifferences.length,
    allWithinRounding: allTies,
    rule: 'an item changed side of the target and its gap to the target, before, is at most twice the largest change of any score in the row between the two batchings',
    each: rankDifferences,
  },
  torchPeer: PEER
    ? {
        ...peer,
        ...(typeof peer.seconds === 'number'
          ? {
              msPerUser: round((1000 * (peer.seconds as number)) / USERS, 2),
              cpuMsPerUser: round((1000 * (peer.cpuSeconds as number)) / USERS, 2),
              afterCpuRatioToTorch: round(
                rows[1]!.cpuMsPerUser / ((1000 * (peer.cpuSeconds as number)) / USERS),
                2,
              ),
              afterRatioToTorch: round(rows[1]!.msPerUser / ((1000 * (peer.seconds as number)) / USERS), 2),
            }
          : {}),
      }
    : { skipped: '--peer=0' },
  notes: [
    `studyMinutesPerVariantSeed: ms/user x ${split.test.length} test users (the study evaluates all of them per variant and seed)`,
    'ranks are compared user by user with the first "before" run; a difference can only come from float32 rounding of a batch-dependent padding length (the same kernels run on the same values otherwise: see packages/fusion/src/inference.test.ts)',
  ],
};
console.log(`[speed-eval] wrote ${writeResult(args.get('out') ?? 'speed-eval', result)}`);
model.dispose();
process.exit(0);
