// `pnpm bench` (second part): mmesid on the WASM backend next to its peers (numpy, and PyTorch where
// `import torch` works) doing the same work in the same run, into benchmarks/results/speed.json.
//
// Rows: f32 matmuls (plain, transposeB, batched, attention Q K^T) with tfjs-backend-wasm's own
// kernel measured beside @mmesid/tensor's replacement; full-ranking evaluation over 12,088 ids
// (a model's dot-product scores and the popularity baseline) with history exclusion, checked by
// equal HR@10 counts. The peers are apps/bench/peers/*.py. A peer that cannot run is reported as
// skipped with the reason, never replaced by a stored number.
//
// Options: --users=N (ranking users, default 4096), --rows=matmul,ranking,sasrec,rqvae (a subset is
// written to speed-<rows>.json), --ranking-rounds=R (default 1), --python=PATH (else MMESID_PEER_PYTHON, then the
// first of python3, /usr/bin/python3 that imports torch, then one that imports numpy).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAuthorsDataset, loadEmbedding } from '@mmesid/datasets';
import { rankTargets, rankTargetsShared } from '@mmesid/metrics';
import { popularityScorer } from '@mmesid/sasrec';
import { initBackend, Rng, setWasmMatMulRoute, tf } from '@mmesid/tensor';
import { rqvaeRows, sasrecRow } from './speed-training.js';
import { writeResult } from './write-result.js';

const here = dirname(fileURLToPath(import.meta.url));
const peers = join(here, '..', 'peers');
const args = new Map(
  process.argv.slice(2).flatMap((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    return m ? [[m[1]!, m[2]!] as const] : [];
  }),
);
const USERS = Number(args.get('users') ?? 4096);
// Ranking rows are measured this many times (each round: mmesid, then its peers), one row per round.
const RANKING_ROUNDS = Number(args.get('ranking-rounds') ?? 1);
const ALL_ROWS = ['matmul', 'ranking', 'sasrec', 'rqvae'] as const;
const rowsWanted = new Set((args.get('rows') ?? ALL_ROWS.join(',')).split(','));
const want = (r: (typeof ALL_ROWS)[number]) => rowsWanted.has(r);
const beautyDir =
  args.get('beauty') ?? process.env.BEAUTY_DIR ?? join(here, '../../../../shared/datasets/beauty');
const ITEMS = 12087; // Beauty's item count: ids 0..12087 with 0 as padding
const DIM = 64;
const HIST = 8;
const BATCH = 1024;
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const loadStart = loadavg();

function canImport(py: string, mod: string): boolean {
  try {
    execFileSync(py, ['-c', `import ${mod}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function pickPython(): { python: string | null; note: string } {
  const given = args.get('python') ?? process.env.MMESID_PEER_PYTHON;
  const candidates = given ? [given] : ['python3', '/usr/bin/python3'];
  for (const py of candidates)
    if (canImport(py, 'torch') && canImport(py, 'numpy')) return { python: py, note: 'numpy and torch' };
  for (const py of candidates)
    if (canImport(py, 'numpy'))
      return {
        python: py,
        note: `numpy only: no candidate (${candidates.join(', ')}) imports torch (Debian: apt-get install python3-torch libopenblas0-pthread)`,
      };
  return { python: null, note: `none of ${candidates.join(', ')} imports numpy` };
}

// The optional native path (@mmesid/blas-native) is timed single-threaded, like WASM.
process.env.OPENBLAS_NUM_THREADS ??= '1';
const { python, note: pythonNote } = pickPython();
console.log(`[speed] peers: ${python ?? 'none'} (${pythonNote})`);

function peer(script: string, argv: string[]): Record<string, unknown> {
  if (!python) return { skipped: pythonNote };
  try {
    const out = execFileSync(python, [join(peers, script), ...argv], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (e) {
    return { skipped: `${script} failed: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}` };
  }
}

async function best(f: () => Promise<void> | void, minMs = 300, minReps = 3): Promise<number> {
  await f();
  const times: number[] = [];
  const end = performance.now() + minMs;
  while (times.length < minReps || performance.now() < end) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return Math.min(...times) / 1000;
}

// tfjs-backend-wasm's own matmul kernels, kept to time them beside the replacement.
await import('@tensorflow/tfjs-backend-wasm');
const tfjsKernels = [tf.getKernel('BatchMatMul', 'wasm')!, tf.getKernel('_FusedMatMul', 'wasm')!];
const choice = await initBackend({ require: 'wasm', log: false, ignoreEnv: true });
const ours = [tf.getKernel('BatchMatMul', 'wasm')!, tf.getKernel('_FusedMatMul', 'wasm')!];
function useKernels(ks: tf.KernelConfig[]): void {
  for (const k of ks) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
    k.setupFunc?.(tf.backend());
  }
}

// ---- matmuls -------------------------------------------------------------------------------
interface Shape {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  flops: number;
}
const shapes: Shape[] = [
  {
    name: 'matmul 1024^3',
    a: [1024, 1024],
    b: [1024, 1024],
    transposeA: false,
    transposeB: false,
    flops: 2 * 1024 ** 3,
  },
  {
    name: 'matmul 1024^3, transposeB',
    a: [1024, 1024],
    b: [1024, 1024],
    transposeA: false,
    transposeB: true,
    flops: 2 * 1024 ** 3,
  },
  {
    name: 'matmul 1024^3, transposeA',
    a: [1024, 1024],
    b: [1024, 1024],
    transposeA: true,
    transposeB: false,
    flops: 2 * 1024 ** 3,
  },
  {
    name: 'batched [16,256,256] @ [16,256,256]^T',
    a: [16, 256, 256],
    b: [16, 256, 256],
    transposeA: false,
    transposeB: true,
    flops: 2 * 16 * 256 ** 3,
  },
  {
    name: 'attention Q K^T [128,50,64]',
    a: [128, 50, 64],
    b: [128, 50, 64],
    transposeA: false,
    transposeB: true,
    flops: 2 * 128 * 50 * 50 * 64,
  },
];
const matmulRows: Record<string, unknown>[] = [];
let nativeNote = 'not tried';
const mmPeer1 = want('matmul') ? peer('matmul.py', ['1', JSON.stringify(shapes)]) : {};
const mmPeer2 = want('matmul') ? peer('matmul.py', ['2', JSON.stringify(shapes)]) : {};
for (const s of want('matmul') ? shapes : []) {
  const a = tf.randomUniform(s.a, -1, 1, 'float32', 1);
  const b = tf.randomUniform(s.b, -1, 1, 'float32', 2);
  const run = async () => {
    const y = tf.matMul(a, b, s.transposeA, s.transposeB);
    await y.data();
    y.dispose();
  };
  const mmesid = await best(run);
  const nativeChoice = await initBackend({ require: 'wasm', nativeBlas: true, log: false, ignoreEnv: true });
  const nativeOk = !!nativeChoice.nativeBlas && !nativeChoice.nativeBlas.startsWith('not used');
  const nativeS = nativeOk ? await best(run) : undefined;
  nativeNote = nativeChoice.nativeBlas ?? 'not used';
  await initBackend({ require: 'wasm', nativeBlas: false, log: false, ignoreEnv: true });
  useKernels(tfjsKernels);
  // The original kernel's transposed path is slow: one timed run after the warm-up is enough.
  const tfjs = await best(run, 0, s.transposeA || s.transposeB || s.a.length > 2 ? 1 : 3);
  useKernels(ours);
  tf.dispose([a, b]);
  const p1 = (mmPeer1.shapes as Record<string, Record<string, number>> | undefined)?.[s.name];
  const p2 = (mmPeer2.shapes as Record<string, Record<string, number>> | undefined)?.[s.name];
  const g = (sec: number | undefined) => (sec === undefined ? null : round(s.flops / sec / 1e9, 2));
  const row = {
    workload: s.name,
    mmesidWasmSeconds: round(mmesid, 5),
    mmesidWasmGflops: g(mmesid),
    tfjsWasmKernelGflops: g(tfjs),
    mmesidNativeBlasGflops: g(nativeS),
    numpy1ThreadGflops: g(p1?.numpy_s),
    torch1ThreadGflops: g(p1?.torch_s),
    numpy2ThreadsGflops: g(p2?.numpy_s),
    torch2ThreadsGflops: g(p2?.torch_s),
    ratioToTorch1Thread: p1?.torch_s ? round(mmesid / p1.torch_s, 2) : null,
    ratioToNumpy1Thread: p1?.numpy_s ? round(mmesid / p1.numpy_s, 2) : null,
    nativeBlasRatioToNumpy1Thread: p1?.numpy_s && nativeS ? round(nativeS / p1.numpy_s, 2) : null,
  };
  console.log(`[speed] ${JSON.stringify(row)}`);
  matmulRows.push(row);
}

// ---- full-ranking evaluation ----------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'mmesid-speed-'));
const rng = new Rng(18);
const users = rng.fillNormal(new Float32Array(USERS * DIM));
const items = rng.fillNormal(new Float32Array((ITEMS + 1) * DIM));
const freq = new Float32Array(ITEMS + 1);
// Zipf-like counts, so ties are common as in real popularity scores.
for (let i = 1; i <= ITEMS; i++) freq[i] = Math.floor(2000 / (1 + rng.int(ITEMS)) ** 0.8);
const targets = new Int32Array(USERS);
const hist = new Int32Array(USERS * HIST);
for (let u = 0; u < USERS; u++) {
  const t = 1 + rng.int(ITEMS);
  targets[u] = t;
  const seen = new Set([t]);
  for (let h = 0; h < HIST; h++) {
    let j = 1 + rng.int(ITEMS);
    while (seen.has(j)) j = 1 + rng.int(ITEMS);
    seen.add(j);
    hist[u * HIST + h] = j;
  }
}
const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
writeFileSync(join(dir, 'users.f32'), bytes(users));
writeFileSync(join(dir, 'items.f32'), bytes(items));
writeFileSync(join(dir, 'freq.f32'), bytes(freq));
writeFileSync(join(dir, 'targets.i32'), bytes(targets));
writeFileSync(join(dir, 'hist.i32'), bytes(hist));
writeFileSync(join(dir, 'meta.json'), JSON.stringify({ U: USERS, N: ITEMS, d: DIM, H: HIST }));

const histories: Int32Array[] = Array.from({ length: USERS }, (_, u) =>
  hist.subarray(u * HIST, (u + 1) * HIST),
);
const itemT = tf.tensor2d(items, [ITEMS + 1, DIM]);
const userT = tf.tensor2d(users, [USERS, DIM]);
const pop = popularityScorer(freq);

async function evaluate(mode: 'model' | 'popularity'): Promise<number> {
  let hits = 0;
  for (let s = 0; s < USERS; s += BATCH) {
    const e = Math.min(USERS, s + BATCH);
    const hs = histories.slice(s, e);
    let ranks: Int32Array;
    if (mode === 'model') {
      const scores = tf.tidy(() => tf.matMul(userT.slice([s, 0], [e - s, DIM]), itemT, false, true));
      ({ ranks } = await rankTargets(scores, targets.subarray(s, e), hs));
      scores.dispose();
    } else {
      // Popularity's one shared row, ranked on the host as evaluateRanking does for it.
      ({ ranks } = rankTargetsShared(pop.sharedScores!(), targets.subarray(s, e), hs));
    }
    for (const r of ranks) if (r <= 10) hits++;
  }
  return hits;
}

const rankingRows: Record<string, unknown>[] = [];
for (const mode of want('ranking') ? (['model', 'popularity'] as const) : []) {
  for (let rr = 0; rr < RANKING_ROUNDS; rr++) {
    let hits = 0;
    const times: number[] = [];
    const cpuTimes: number[] = [];
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      hits = await evaluate(mode);
      const c = process.cpuUsage(c0);
      times.push((performance.now() - t0) / 1000);
      cpuTimes.push((c.user + c.system) / 1e6);
    }
    const mmesid = Math.min(...times);
    const mmesidCpu = Math.min(...cpuTimes);
    // The same with the score product through XNNPACK (the wasm kernel before its SIMD GEMM).
    let xnnpackS: number | undefined;
    let xnnpackCpu: number | undefined;
    if (mode === 'model') {
      setWasmMatMulRoute('xnnpack');
      const xt: number[] = [];
      const xc: number[] = [];
      try {
        for (let r = 0; r < 2; r++) {
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          const h = await evaluate(mode);
          const c = process.cpuUsage(c0);
          xt.push((performance.now() - t0) / 1000);
          xc.push((c.user + c.system) / 1e6);
          if (h !== hits) throw new Error(`ranking through XNNPACK: HR@10 count ${h}, SIMD GEMM ${hits}`);
        }
      } finally {
        setWasmMatMulRoute('auto');
      }
      xnnpackS = Math.min(...xt);
      xnnpackCpu = Math.min(...xc);
    }
    // The score product through the optional native BLAS (the same evaluator, ranks checked equal).
    let nativeS: number | undefined;
    if (mode === 'model') {
      const c = await initBackend({ require: 'wasm', nativeBlas: true, log: false, ignoreEnv: true });
      if (c.nativeBlas && !c.nativeBlas.startsWith('not used')) {
        const nt: number[] = [];
        for (let r = 0; r < 2; r++) {
          const t0 = performance.now();
          const h = await evaluate(mode);
          nt.push((performance.now() - t0) / 1000);
          if (h !== hits) throw new Error(`ranking through native BLAS: HR@10 count ${h}, WASM ${hits}`);
        }
        nativeS = Math.min(...nt);
      }
      await initBackend({ require: 'wasm', nativeBlas: false, log: false, ignoreEnv: true });
    }
    const p1 = peer('ranking.py', ['1', dir, mode, String(BATCH)]);
    const p2 = peer('ranking.py', ['2', dir, mode, String(BATCH)]);
    const agree = [p1.numpy_hits10, p1.torch_hits10].filter((h) => h !== undefined).every((h) => h === hits);
    const row = {
      workload: `full ranking, ${mode === 'model' ? 'dot-product scores' : 'popularity'}: ${USERS} users x ${ITEMS + 1} ids, ${HIST} history items masked, batch ${BATCH}`,
      mmesidWasmSeconds: round(mmesid),
      hits10: hits,
      peersAgree: agree,
      numpy1ThreadSeconds: p1.numpy_s === undefined ? null : round(p1.numpy_s as number),
      torch1ThreadSeconds: p1.torch_s === undefined ? null : round(p1.torch_s as number),
      numpy2ThreadsSeconds: p2.numpy_s === undefined ? null : round(p2.numpy_s as number),
      torch2ThreadsSeconds: p2.torch_s === undefined ? null : round(p2.torch_s as number),
      ratioToNumpy1Thread: p1.numpy_s ? round(mmesid / (p1.numpy_s as number), 2) : null,
      ratioToTorch1Thread: p1.torch_s ? round(mmesid / (p1.torch_s as number), 2) : null,
      ...(RANKING_ROUNDS > 1 ? { round: rr + 1 } : {}),
      mmesidWasmCpuSeconds: round(mmesidCpu),
      numpy1ThreadCpuSeconds: p1.numpy_cpu_s === undefined ? null : round(p1.numpy_cpu_s as number),
      cpuRatioToNumpy1Thread: p1.numpy_cpu_s ? round(mmesidCpu / (p1.numpy_cpu_s as number), 2) : null,
      ...(xnnpackS !== undefined && xnnpackCpu !== undefined
        ? {
            mmesidWasmXnnpackSeconds: round(xnnpackS),
            mmesidWasmXnnpackCpuSeconds: round(xnnpackCpu),
            xnnpackRatioToNumpy1Thread: p1.numpy_s ? round(xnnpackS / (p1.numpy_s as number), 2) : null,
            xnnpackCpuRatioToNumpy1Thread: p1.numpy_cpu_s
              ? round(xnnpackCpu / (p1.numpy_cpu_s as number), 2)
              : null,
          }
        : {}),
      ...(nativeS !== undefined
        ? {
            mmesidNativeBlasSeconds: round(nativeS),
            nativeBlasRatioToNumpy1Thread: p1.numpy_s ? round(nativeS / (p1.numpy_s as number), 2) : null,
          }
        : {}),
      ...(p1.skipped ? { peerSkipped: p1.skipped } : {}),
      ...(p1.torch_skipped ? { torchSkipped: p1.torch_skipped } : {}),
    };
    if (!agree)
      console.warn(`[speed] ${mode}: HR@10 counts differ: mmesid ${hits}, peer ${JSON.stringify(p1)}`);
    console.log(`[speed] ${JSON.stringify(row)}`);
    rankingRows.push(row);
  }
}
tf.dispose([itemT, userT]);
pop.dispose();
rmSync(dir, { recursive: true, force: true });

// ---- training rows ---------------------------------------------------------------------------
const trainingRows: Record<string, unknown>[] = [];
const notMeasured: Record<string, string> = {};
if (want('sasrec') || want('rqvae')) {
  if (!existsSync(beautyDir)) {
    const why = `Beauty data not found at ${beautyDir} (--beauty=DIR or BEAUTY_DIR)`;
    if (want('sasrec')) notMeasured['SASRec epoch (Beauty, BCE)'] = why;
    if (want('rqvae')) notMeasured['MM-RQ-VAE epoch and k-means init'] = why;
  } else {
    const beauty = await loadAuthorsDataset(beautyDir);
    if (want('sasrec')) {
      const row = await sasrecRow(peer, beauty);
      console.log(`[speed] ${JSON.stringify(row)}`);
      trainingRows.push(row);
    }
    if (want('rqvae')) {
      const table = await loadEmbedding(join(beautyDir, 'sasrec_item_emb.f32'));
      for (const row of await rqvaeRows(peer, table)) {
        console.log(`[speed] ${JSON.stringify(row)}`);
        trainingRows.push(row);
      }
    }
  }
}
if (ALL_ROWS.some((r) => !want(r))) {
  // A partial run (--rows=...) goes to its own file: speed.json holds whole runs.
  const partial = writeResult(`speed-${[...rowsWanted].sort().join('-')}`, {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
    note: 'A partial run of apps/bench/src/speed.ts (--rows); shared, loaded machine: compare each row with its peer measured in the same run. loadAverage is os.loadavg() at start and end.',
    loadAverage: { start: loadStart.map((x) => round(x, 2)), end: loadavg().map((x) => round(x, 2)) },
    matmul: matmulRows,
    ranking: rankingRows,
    training: trainingRows,
  });
  console.log(`[speed] only ${[...rowsWanted].join(', ')} measured: wrote ${partial}, not speed.json`);
  process.exit(0);
}

const peerInfo = peer('matmul.py', ['1', '[]']);
const target = writeResult('speed', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
  note: 'Shared, loaded machine (other agents running): compare each row with its peer measured in the same run, not across runs. loadAverage is os.loadavg() at start and end.',
  loadAverage: { start: loadStart.map((x) => round(x, 2)), end: loadavg().map((x) => round(x, 2)) },
  mmesid: {
    backend: choice.name,
    threads: 1,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    nativeBlas: nativeNote,
    nativeBlasThreads: process.env.OPENBLAS_NUM_THREADS,
  },
  peers: {
    python,
    note: pythonNote,
    numpy: peerInfo.numpy ?? null,
    torch: peerInfo.torch ?? null,
    torchSkipped: peerInfo.torch_skipped ?? null,
    blas: peerInfo.blas ?? null,
    scripts:
      'apps/bench/peers/matmul.py, ranking.py, sasrec.py, rqvae.py (common.py: thread pinning, BLAS report)',
  },
  matmul: matmulRows,
  ranking: rankingRows,
  training: trainingRows,
  notMeasuredHere: notMeasured,
  measuredElsewhere: {
    'MME-SID fine-tuning step':
      'benchmarks/results/speed-finetune.json (pnpm --filter @mmesid/bench speed:finetune)',
  },
});
console.log(`[speed] wrote ${target}`);
process.exit(0);
