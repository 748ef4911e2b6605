/**
 * End to end: builds the page with Vite, makes a tiny run in Node (synthetic data, random 2-layer
 * Llama, a few fine-tuning steps, `exportRun`), serves both, and drives headless Chromium on WebGPU
 * (SwiftShader) with Playwright. The top 10 the page shows for a history typed into the search
 * box, and for a test user, must equal `recommend` of `@mmesid/fusion` in Node (CPU backend) on
 * the same exported run:
 *
 * - same item ids in the same order, except where two items' Node scores are within 2 * tolerance
 *   of each other (a near-tie may swap);
 * - every shown score and fusion weight within the tolerance of Node's value for that item;
 * - the held-out rank equal to `evaluateMmeSid`'s.
 *
 * Tolerance: |page - node| <= 1e-5 * max(1, |node|) for scores and fusion weights: float32 on a
 * different backend (SwiftShader's WebGPU, or WASM, against tfjs's CPU kernels) through 2 decoder
 * layers and the fusion softmax. The differences seen are a few 1e-7 (printed by each test).
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { evaluateMmeSid, loadRun, type MmeSidModel, recommend } from '@mmesid/fusion';
import { initBackend } from '@mmesid/tensor';
import { chromiumUnavailable, launchChromium } from '@mmesid/test-utils/chromium';
import { type StaticServer, serveStatic } from '@mmesid/test-utils/static-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyRun, type TinyRun } from '../scripts/tiny-run.js';

const TOL = 1e-5;
const K = 10;
const APP = join(import.meta.dirname, '..');
const ARTIFACTS = join(APP, 'test-artifacts');
const DIST = join(ARTIFACTS, 'e2e-dist');
const RUN = join(ARTIFACTS, 'e2e-run');
const TIMEOUT = 300_000;

const unavailable = chromiumUnavailable();
if (unavailable) console.log(`[web e2e] skipped: ${unavailable}`);

interface Row {
  item: number;
  score: number;
  weights: number[];
}

/** Node's scores and fusion weights of every item outside the history, best first. */
async function nodeRanking(
  model: MmeSidModel,
  history: number[],
): Promise<{ rows: Row[]; byItem: Map<number, Row> }> {
  const r = await recommend(model, history, model.numItems);
  const rows = r.items.map((item, i) => ({ item, score: r.scores[i]!, weights: r.weights[i]! }));
  return { rows, byItem: new Map(rows.map((row) => [row.item, row])) };
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= TOL * Math.max(1, Math.abs(b));
}

/** Checks the page's rows against Node's ranking; returns the largest score difference seen. */
function expectSameTopK(page: Row[], node: { rows: Row[]; byItem: Map<number, Row> }, terms: number): number {
  expect(page.length).toBe(K);
  let maxDiff = 0;
  page.forEach((row, i) => {
    const ref = node.byItem.get(row.item);
    expect(ref, `page item ${row.item} at rank ${i + 1} is in the history or not an item`).toBeDefined();
    maxDiff = Math.max(maxDiff, Math.abs(row.score - ref!.score));
    expect(
      close(row.score, ref!.score),
      `score of item ${row.item}: page ${row.score}, node ${ref!.score}`,
    ).toBe(true);
    expect(row.weights).toHaveLength(terms);
    row.weights.forEach((w, t) => {
      expect(close(w, ref!.weights[t]!), `weight ${t} of item ${row.item}`).toBe(true);
    });
    const expected = node.rows[i]!;
    if (row.item !== expected.item)
      expect(
        Math.abs(ref!.score - expected.score) <= 2 * TOL * Math.max(1, Math.abs(expected.score)),
        `rank ${i + 1}: page shows item ${row.item}, node ranks ${expected.item} there (scores ${ref!.score} vs ${expected.score})`,
      ).toBe(true);
  });
  return maxDiff;
}

async function readRows(page: Page): Promise<Row[]> {
  return page.$$eval('#recs li.rec', (els) =>
    els.map((e) => ({
      item: Number((e as HTMLElement).dataset.item),
      score: Number((e as HTMLElement).dataset.score),
      weights: Array.from(e.querySelectorAll<HTMLElement>('.fw-key')).map((k) => Number(k.dataset.weight)),
    })),
  );
}

/** Opens the page with a URL query (e.g. `?run=run/`); returns it and the errors it logs. */
async function openPage(
  browser: Browser,
  server: StaticServer,
  query: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  await page.goto(`${server.origin}/${query}`);
  return { page, errors };
}

/** Waits until the page has loaded a run (or failed to), and expects success. */
async function waitForRun(page: Page): Promise<void> {
  await page.waitForSelector(
    '#load-status[data-phase="done"], #load-status[data-phase="error"], #backend[data-backend="none"]',
    { timeout: TIMEOUT },
  );
  const status = await page.textContent('#load-status');
  expect(
    await page.getAttribute('#load-status', 'data-phase'),
    `load status: ${status}; backend: ${await page.textContent('#backend')}`,
  ).toBe('done');
}

/** Adds items to the history by typing each one's title into the search box and clicking the hit. */
async function enterHistory(page: Page, ids: number[], titles: string[]): Promise<void> {
  for (const id of ids) {
    await page.fill('#search', titles[id]!);
    const hit = page.locator(`#search-hits button[data-item="${id}"]`);
    if ((await hit.count()) === 0) await page.fill('#search', String(id)); // a title shared by more than 20 items
    await page.locator(`#search-hits button[data-item="${id}"]`).click();
  }
}

async function waitForResult(page: Page, history: number[], target?: number): Promise<void> {
  const sel = `#recs[data-status="done"][data-history="${history.join(',')}"]${target === undefined ? '' : `[data-target="${target}"]`}`;
  await page.waitForSelector(`${sel}, #recs[data-status="error"]`, { timeout: TIMEOUT });
  expect(await page.getAttribute('#recs', 'data-status'), (await page.textContent('#error')) ?? '').toBe(
    'done',
  );
}

describe.skipIf(unavailable !== undefined)('the page in headless Chromium', () => {
  let run: TinyRun;
  let model: MmeSidModel;
  let server: StaticServer;
  let browser: Browser;
  let terms: number;

  beforeAll(async () => {
    await rm(ARTIFACTS + '/e2e-dist', { recursive: true, force: true });
    await mkdir(ARTIFACTS, { recursive: true });
    const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
    const build = promisify(execFile)(
      process.execPath,
      [vite, 'build', '--outDir', DIST, '--emptyOutDir', '--logLevel', 'warn'],
      {
        cwd: APP,
        maxBuffer: 64 << 20,
      },
    );
    await initBackend({ require: 'cpu', log: false, ignoreEnv: true });
    run = await makeTinyRun({ dir: RUN });
    model = await loadRun(RUN);
    terms = model.termNames.length;
    await build;
    server = await serveStatic({ '/': DIST, '/run/': RUN });
    browser = await launchChromium();
  }, TIMEOUT);

  let webgpu: { page: Page; errors: string[] } | undefined;

  /** One WebGPU page for the WebGPU tests: the first load compiles every shader, which is the slow part. */
  async function webgpuPage(): Promise<{ page: Page; errors: string[] }> {
    if (!webgpu) {
      webgpu = await openPage(browser, server, '?run=run/');
      await waitForRun(webgpu.page);
    }
    return webgpu;
  }

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    model?.dispose();
  });

  it(
    'WebGPU in a worker: the top 10 for a history typed into the search box equals Node',
    { timeout: TIMEOUT },
    async () => {
      const { page, errors } = await webgpuPage();
      expect(
        await page.getAttribute('#backend', 'data-backend'),
        (await page.textContent('#backend')) ?? '',
      ).toBe('webgpu');
      expect(await page.getAttribute('#backend', 'data-worker')).toBe('true');
      const history = [run.test[0]!.history[0]!, run.test[1]!.history[0]!, run.test[2]!.target];
      await enterHistory(page, history, run.titles);
      await waitForResult(page, history);
      const node = await nodeRanking(model, history);
      const diff = expectSameTopK(await readRows(page), node, terms);
      console.log(
        `[web e2e] webgpu/worker, history ${history}: top ${K} matches Node (cpu); max |score diff| ${diff.toExponential(2)}`,
      );
      // One more item: a second request, whose live tensor count must equal the first's (no leak).
      const live = await page.getAttribute('#recs', 'data-live-tensors');
      const longer = [...history, node.rows[0]!.item];
      await enterHistory(page, [longer.at(-1)!], run.titles);
      await waitForResult(page, longer);
      expectSameTopK(await readRows(page), await nodeRanking(model, longer), terms);
      expect(await page.getAttribute('#recs', 'data-live-tensors')).toBe(live);
      expect(errors).toEqual([]);
    },
  );

  it(
    'WebGPU: a test user shows the same top 10 and the held-out rank of evaluateMmeSid',
    { timeout: TIMEOUT },
    async () => {
      const { page, errors } = await webgpuPage();
      const index = 5;
      const user = run.test[index - 1]!;
      await page.fill('#user-index', String(index));
      await page.click('#user-pick');
      await waitForResult(page, user.history, user.target);
      const diff = expectSameTopK(await readRows(page), await nodeRanking(model, user.history), terms);
      const { ranks } = await evaluateMmeSid(model, [user], { batchSize: 1, ks: [1] });
      await page.waitForSelector('#held-out[data-status="done"]', { timeout: TIMEOUT });
      expect(Number(await page.getAttribute('#held-out', 'data-rank'))).toBe(ranks[0]);
      console.log(
        `[web e2e] webgpu, test user ${index}: top ${K} matches; held-out item ${user.target} rank ${ranks[0]}; max |score diff| ${diff.toExponential(2)}`,
      );
      expect(errors).toEqual([]);
      const shot = join(ARTIFACTS, 'web-e2e-webgpu.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`[web e2e] screenshot: ${shot}`);
    },
  );

  it(
    'WASM on the page thread (?backend=wasm&worker=0), run picked as a folder: the same top 10',
    { timeout: TIMEOUT },
    async () => {
      const { page, errors } = await openPage(browser, server, '?backend=wasm&worker=0');
      await page.waitForSelector('#backend[data-backend]:not([data-backend=""])', { timeout: TIMEOUT });
      expect(await page.getAttribute('#backend', 'data-backend')).toBe('wasm');
      expect(await page.getAttribute('#backend', 'data-worker')).toBe('false');
      // <input webkitdirectory>: the files arrive with paths below the picked folder (e2e-run/...).
      await page.setInputFiles('#run-folder', RUN);
      await waitForRun(page);
      const user = run.test[2]!;
      await page.fill('#user-index', '3');
      await page.click('#user-pick');
      await waitForResult(page, user.history, user.target);
      const diff = expectSameTopK(await readRows(page), await nodeRanking(model, user.history), terms);
      console.log(
        `[web e2e] wasm/page thread, picked folder, test user 3: top ${K} matches; max |score diff| ${diff.toExponential(2)}`,
      );
      expect(errors).toEqual([]);
      await page.close();
    },
  );
});
