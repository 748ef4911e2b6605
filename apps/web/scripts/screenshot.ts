/**
 * Opens the built page (`pnpm --filter web build` first) on a run folder in headless Chromium on
 * WebGPU, picks a test user (or types a history) and saves a screenshot:
 *
 *   pnpm --filter web screenshot --run <run folder> [--user 5] [--history 3,17,42] [--out docs/screenshot.png] [--backend wasm]
 *
 * Paths are relative to the repository root. Prints what the page showed (backend, timings).
 */
import { resolve } from 'node:path';
import { launchChromium } from '@mmesid/test-utils/chromium';
import { serveStatic } from '@mmesid/test-utils/static-server';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const root = resolve(import.meta.dirname, '../../..');
const runArg = option('run');
if (!runArg) throw new Error('pass --run <folder holding run.json>');
const out = resolve(root, option('out') ?? 'apps/web/docs/screenshot.png');
const server = await serveStatic({
  '/': resolve(import.meta.dirname, '../dist'),
  '/run/': resolve(root, runArg),
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  const backend = option('backend');
  await page.goto(`${server.origin}/?run=run/${backend ? `&backend=${backend}` : ''}`);
  await page.waitForSelector('#load-status[data-phase="done"], #load-status[data-phase="error"]', {
    timeout: 600_000,
  });
  console.log('load:', await page.textContent('#load-status'));
  const history = option('history');
  if (history) {
    for (const id of history.split(',')) {
      await page.fill('#search', id);
      await page.locator(`#search-hits button[data-item="${id}"]`).click();
    }
  } else {
    await page.fill('#user-index', option('user') ?? '1');
    await page.click('#user-pick');
  }
  await page.waitForSelector('#recs[data-status="done"], #recs[data-status="error"]', { timeout: 600_000 });
  if (!history)
    await page.waitForSelector('#held-out[data-status="done"], #recs[data-status="error"]', {
      timeout: 600_000,
    });
  console.log('backend:', await page.textContent('#backend'));
  console.log('timing:', await page.textContent('#timing'));
  console.log('held out:', (await page.textContent('#held-out'))?.trim() || '-');
  console.log('error:', (await page.textContent('#error')) || '-');
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
