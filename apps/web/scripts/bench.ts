/**
 * Benchmark of the page in headless Chromium (WebGPU over SwiftShader here, no GPU): builds the
 * page, serves it with a run, and for each backend (each in the module worker) records the load
 * (download, model build, warm-up) and the per-request inference time of `recommend` over the first
 * test users, plus the held-out rank request. Prints a table and writes
 * benchmarks/results/<name>.json (default `web`, through a temporary file).
 *
 *   pnpm --filter web bench                              # the tiny synthetic run, made fresh
 *   pnpm --filter web bench --run runs/x/export --requests 10 --backends webgpu,wasm --name web-x
 *
 * Paths are relative to the repository root. Run by hand; tests never assert times.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { initBackend } from '@mmesid/tensor';
import { CHROMIUM_ARGS, chromiumUnavailable, launchChromium } from '@mmesid/test-utils/chromium';
import { serveStatic } from '@mmesid/test-utils/static-server';
import { makeTinyRun } from './tiny-run.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function stats(xs: number[]): { median: number; p90: number; min: number; max: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), min: s[0]!, max: s.at(-1)!, n: s.length };
}

const unavailable = chromiumUnavailable();
if (unavailable) {
  console.log(`bench skipped: ${unavailable}`);
  process.exit(0);
}
const app = resolve(import.meta.dirname, '..');
const root = resolve(app, '../..');
const requests = Number(option('requests') ?? 8);
const backends = (option('backends') ?? 'webgpu,wasm,cpu').split(',');
const dist = join(app, 'test-artifacts', 'bench-dist');
const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
console.log('building the page…');
await promisify(execFile)(
  process.execPath,
  [vite, 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'error'],
  {
    cwd: app,
    maxBuffer: 64 << 20,
  },
);
let runDir = option('run') ? resolve(root, option('run')!) : undefined;
if (!runDir) {
  runDir = join(app, 'test-artifacts', 'bench-run');
  await initBackend({ prefer: ['wasm', 'cpu'], log: false });
  await makeTinyRun({ dir: runDir });
}
const server = await serveStatic({ '/': dist, '/run/': runDir });
const browser = await launchChromium();
const results: Record<string, unknown>[] = [];
try {
  for (const backend of backends) {
    const page = await browser.newPage();
    const t0 = performance.now();
    await page.goto(`${server.origin}/?run=run/&backend=${backend}`);
    await page.waitForSelector(
      '#load-status[data-phase="done"], #load-status[data-phase="error"], #backend[data-backend="none"]',
      {
        timeout: 1_800_000,
      },
    );
    if ((await page.getAttribute('#load-status', 'data-phase')) !== 'done') {
      console.log(
        `${backend}: ${await page.textContent('#backend')} ${await page.textContent('#load-status')}`,
      );
      results.push({ backend, error: (await page.textContent('#load-status')) ?? '' });
      await page.close();
      continue;
    }
    const pageLoadMs = performance.now() - t0;
    const info = await page.$eval('#run-info', (e) => ({ ...(e as HTMLElement).dataset }));
    const inWorker = (await page.getAttribute('#backend', 'data-worker')) === 'true';
    const users = Number((await page.textContent('#user-count'))?.replace(/\D+/g, '') ?? 0);
    const recommendMs: number[] = [];
    const roundTripMs: number[] = [];
    const rankMs: number[] = [];
    const historyLengths: number[] = [];
    for (let i = 1; i <= Math.min(requests, users); i++) {
      await page.fill('#user-index', String(i));
      await page.click('#user-pick');
      // A pick marks both pending, so these wait for this user's answers.
      await page.waitForSelector('#recs[data-status="done"], #recs[data-status="error"]', {
        timeout: 1_800_000,
      });
      await page.waitForSelector('#held-out[data-status="done"], #recs[data-status="error"]', {
        timeout: 1_800_000,
      });
      const t = await page.$eval('#timing', (e) => ({ ...(e as HTMLElement).dataset }));
      recommendMs.push(Number(t.recommendMs));
      roundTripMs.push(Number(t.roundTripMs));
      rankMs.push(Number(await page.getAttribute('#held-out', 'data-ms')));
      historyLengths.push(((await page.getAttribute('#recs', 'data-history')) ?? '').split(',').length);
    }
    const r = {
      backend,
      inWorker,
      numItems: Number(info.numItems),
      bytes: Number(info.bytes),
      pageLoadMs,
      downloadMs: Number(info.downloadMs),
      buildMs: Number(info.buildMs),
      warmupMs: Number(info.warmupMs),
      meanHistoryLength: historyLengths.reduce((a, b) => a + b, 0) / Math.max(1, historyLengths.length),
      recommendMs: stats(recommendMs),
      roundTripMs: stats(roundTripMs),
      rankMs: stats(rankMs),
    };
    results.push(r);
    console.log(
      `${backend.padEnd(6)} ${inWorker ? 'worker' : 'page  '} load ${(pageLoadMs / 1000).toFixed(1)} s (build ${r.buildMs.toFixed(0)} ms, warm-up ${(r.warmupMs / 1000).toFixed(1)} s)` +
        ` | recommend median ${r.recommendMs.median.toFixed(0)} ms, p90 ${r.recommendMs.p90.toFixed(0)} ms (n ${r.recommendMs.n}, mean history ${r.meanHistoryLength.toFixed(1)})` +
        ` | held-out rank median ${r.rankMs.median.toFixed(0)} ms`,
    );
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
const name = option('name') ?? 'web';
const out = join(root, 'benchmarks', 'results', `${name}.json`);
await mkdir(dirname(out), { recursive: true });
const json = {
  name,
  what: 'the page in headless Chromium: load and per-request inference (recommend = score all items + top 10 + fusion weights) per backend, in the module worker',
  date: new Date().toISOString(),
  run: runDir.startsWith(root) ? runDir.slice(root.length + 1) : runDir,
  chromium: (
    await promisify(execFile)(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version']).catch(() => ({
      stdout: '?',
    }))
  ).stdout.trim(),
  chromiumArgs: CHROMIUM_ARGS,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverage1m: loadavg()[0] },
  note: 'WebGPU here is SwiftShader (a CPU implementation of Vulkan): far slower than a real GPU; the machine is shared, so times vary with load',
  results,
};
const tmp = `${out}.tmp-${process.pid}`;
await writeFile(tmp, `${JSON.stringify(json, null, 2)}\n`);
await rename(tmp, out);
console.log(`wrote ${out}`);
