/**
 * The published packages as a user meets them (see test/setup.ts for the packing and the npm
 * install into a project outside the workspace):
 *
 * - each tarball: LICENSE, README saying ESM-only, `engines.node`, no devDependencies or private
 *   workspace packages, `sideEffects` naming files that are in it, `node:` kept on built-ins;
 * - plain Node ESM imports every package and runs a tiny Llama on WASM;
 * - `tsc --strict` with nodenext and with bundler resolution, chained ops (`t.reshape`) included;
 * - a production Vite build of a page that imports every package and the two backend entries,
 *   with zero warnings;
 * - that page in headless Chromium on WASM and on WebGPU, nothing copied by hand, with logits equal
 *   to Node's within 1e-4 * max(1, |node|) (float32 through two decoder layers on other kernels).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumUnavailable, launchChromium } from '@mmesid/test-utils/chromium';
import { type StaticServer, serveStatic } from '@mmesid/test-utils/static-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runOk } from '../src/exec.js';
import { globMatchesSome } from '../src/tarball.js';

const consumer = inject('consumer');
const app = consumer.app;
const TOL = 1e-4;

/**
 * Warnings that come from a third-party package itself and that every Vite user of that version
 * sees, whatever imports it: zod 4.6's `@__PURE__` comments in positions Rollup cannot use. They
 * must name the file inside that package; anything else, or anything from an @mmesid package, fails.
 */
const THIRD_PARTY_WARNINGS = [
  /node_modules\/zod\/v4\/core\/[\w-]+\.js \(\d+:\d+\): A comment\n[\s\S]*contains an annotation that Rollup cannot interpret/,
];

interface RunResult {
  ok?: boolean;
  error?: string;
  backend: string;
  tfBackend: string;
  exports: Record<string, number>;
  logits: number[];
  stories?: number[];
}

interface ModelLoadResult {
  error?: string;
  backend: string;
  fromUrl: number[];
  again: number[];
  fromFiles: number[];
  progress?: { file: string; loaded: number; total?: number };
  cached: string[];
}

/** stories260k beside the project (the `shared` link), or undefined. */
const storiesDir = consumer.shared ? join(consumer.shared, 'models', 'stories260k') : undefined;
const nodeArgs = ['node-check.mjs', ...(storiesDir ? [storiesDir] : [])];

function lastJsonLine<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON line in:\n${stdout}`);
  return JSON.parse(line) as T;
}

describe('the tarballs', () => {
  it('cover every public workspace package, each built first by turbo (a devDependency here)', () => {
    const own = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const names = consumer.packed.map((p) => p.name);
    expect(names).toContain('@mmesid/tensor');
    const missing = names.filter((n) => !own.devDependencies[n]);
    expect(missing, 'add these to packages/consumer-tests devDependencies ("workspace:*")').toEqual([]);
  });

  for (const p of consumer.packed) {
    describe(p.name, () => {
      const m = p.manifest as {
        dependencies?: Record<string, string>;
        devDependencies?: unknown;
        engines?: { node?: string };
        sideEffects?: boolean | string[];
        license?: string;
      };

      it('ships LICENSE, a README that says ESM-only, and engines.node', () => {
        expect(p.files).toContain('LICENSE');
        expect(readFileSync(join(p.dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
        expect(m.license).toBe('MIT');
        expect(p.files).toContain('README.md');
        expect(readFileSync(join(p.dir, 'README.md'), 'utf8')).toMatch(/ESM only/);
        expect(m.engines?.node).toMatch(/^>=\s*20/);
      });

      it('publishes no devDependencies and depends on no private workspace package', () => {
        expect(m.devDependencies).toBeUndefined();
        const privateNames = [
          '@mmesid/tsconfig',
          '@mmesid/tsup-config',
          '@mmesid/vitest-config',
          '@mmesid/test-utils',
        ];
        for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
          expect(privateNames, `${dep}`).not.toContain(dep);
          expect(range, `${dep}`).not.toMatch(/^workspace:/);
        }
      });

      it('names only files in the tarball in sideEffects', () => {
        if (!Array.isArray(m.sideEffects)) return;
        for (const pattern of m.sideEffects)
          expect(globMatchesSome(pattern, p.files), `sideEffects entry ${pattern}`).toBe(true);
      });

      it('keeps the node: prefix on every Node built-in in dist', () => {
        for (const f of p.files.filter((x) => x.endsWith('.js'))) {
          const code = readFileSync(join(p.dir, f), 'utf8');
          const bare = code.match(
            /(?:from\s*|import\s*\(\s*)['"](fs|fs\/promises|path|os|url|module|crypto|child_process|stream|util|zlib|worker_threads)['"]/,
          );
          expect(bare?.[0], `${f} imports a Node built-in without node:`).toBeUndefined();
        }
      });
    });
  }
});

describe('plain Node ESM', () => {
  it('imports every package and runs a tiny Llama on WASM', async () => {
    const { stdout } = await runOk(process.execPath, nodeArgs, { cwd: app });
    const r = lastJsonLine<RunResult>(stdout);
    expect(r.backend).toBe('wasm');
    if (storiesDir) expect(r.stories?.length).toBeGreaterThan(0);
    for (const p of consumer.packed) expect(r.exports[p.name], p.name).toBeGreaterThan(0);
    expect(r.logits).toHaveLength(64);
    expect(r.logits.every(Number.isFinite)).toBe(true);
  });
});

describe('TypeScript --strict', () => {
  for (const resolution of ['nodenext', 'bundler']) {
    it(`type-checks every package and chained ops with ${resolution} resolution`, async () => {
      const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
      await runOk(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], { cwd: app });
    });
  }
});

describe('a Vite production build, then headless Chromium', () => {
  const unavailable = chromiumUnavailable();
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  let nodeLogits: number[] = [];
  let nodeStories: number[] | undefined;

  beforeAll(async () => {
    const { stdout } = await runOk(process.execPath, nodeArgs, { cwd: app });
    const r = lastJsonLine<RunResult>(stdout);
    nodeLogits = r.logits;
    nodeStories = r.stories;
  });
  const serve = async () => {
    server ??= await serveStatic({
      '/': join(app, 'web-dist'),
      ...(storiesDir ? { '/models/stories260k/': storiesDir } : {}),
    });
    return server;
  };
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('builds the page importing every package and the backend entries with zero warnings', async () => {
    const { stdout } = await runOk(process.execPath, ['vite-build.mjs'], { cwd: app });
    const { warnings } = lastJsonLine<{ warnings: string[] }>(stdout);
    const known = warnings.filter((w) => THIRD_PARTY_WARNINGS.some((re) => re.test(w)));
    if (known.length > 0)
      console.log(
        `[consumer] ${known.length} known third-party Vite warning(s) (zod's own comments):\n${known.join('\n')}`,
      );
    expect(warnings.filter((w) => !known.includes(w))).toEqual([]);
    const assets = readFileSync(join(app, 'web-dist', 'index.html'), 'utf8');
    expect(assets).toMatch(/<script type="module"/);
  });

  for (const backend of ['wasm', 'webgpu'] as const) {
    it.skipIf(unavailable !== undefined)(
      `runs the tiny Llama on ${backend} with no manual asset copying`,
      async () => {
        server = await serve();
        browser ??= await launchChromium();
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        const before = server.log.length;
        await page.goto(`${server.origin}/?backend=${backend}`);
        await page.waitForFunction(
          () => (window as { __result?: unknown }).__result !== undefined,
          undefined,
          { timeout: 120_000 },
        );
        const r = (await page.evaluate(() => (window as { __result?: unknown }).__result)) as RunResult;
        await page.close();
        expect(r.error, r.error).toBeUndefined();
        expect(errors).toEqual([]);
        expect(r.backend).toBe(backend);
        expect(r.tfBackend).toBe(backend);
        for (const p of consumer.packed) expect(r.exports[p.name], p.name).toBeGreaterThan(0);
        const requests = server.log.slice(before);
        expect(
          requests.filter((l) => l.startsWith('404')),
          'requests that failed',
        ).toEqual([]);
        if (backend === 'wasm')
          expect(
            requests.some((l) => /^200 \/assets\/tfjs-backend-wasm[-\w]*\.wasm$/.test(l)),
            `the page fetched a .wasm emitted by the build: ${requests.join(', ')}`,
          ).toBe(true);
        expect(r.logits).toHaveLength(nodeLogits.length);
        let maxDiff = 0;
        r.logits.forEach((v, i) => {
          const ref = nodeLogits[i]!;
          maxDiff = Math.max(maxDiff, Math.abs(v - ref));
          expect(Math.abs(v - ref), `logit ${i}: page ${v}, node ${ref}`).toBeLessThanOrEqual(
            TOL * Math.max(1, Math.abs(ref)),
          );
        });
        console.log(
          `[consumer] ${backend} in Chromium: max |logit - node wasm| = ${maxDiff.toExponential(2)}`,
        );
      },
    );
  }
  it.skipIf(unavailable !== undefined || !storiesDir)(
    'loads stories260k in the page by URL (progress, then from the Cache API) and as File objects, generating what Node generates',
    async () => {
      const srv = await serve();
      browser ??= await launchChromium();
      const page = await browser.newPage();
      const before = srv.log.length;
      await page.goto(`${srv.origin}/?backend=wasm&model=models/stories260k/`);
      await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, {
        timeout: 120_000,
      });
      const r = (await page.evaluate(() => (window as { __result?: unknown }).__result)) as ModelLoadResult;
      await page.close();
      expect(r.error, r.error).toBeUndefined();
      expect(r.backend).toBe('wasm');
      expect(nodeStories?.length).toBeGreaterThan(0);
      expect(r.fromUrl).toEqual(nodeStories);
      expect(r.again).toEqual(nodeStories);
      expect(r.fromFiles).toEqual(nodeStories);
      const size = statSync(join(storiesDir!, 'model.safetensors')).size;
      expect(r.progress).toEqual({ file: 'model.safetensors', loaded: size, total: size });
      expect(r.cached).toContain('/models/stories260k/model.safetensors');
      // One fetch for the first URL load, none for the second (Cache API), one to build the File.
      const weights = srv.log.slice(before).filter((l) => l === '200 /models/stories260k/model.safetensors');
      expect(weights).toHaveLength(2);
    },
  );
  if (unavailable) console.log(`[consumer] Chromium checks skipped: ${unavailable}`);
  if (!storiesDir)
    console.log('[consumer] stories260k browser loading skipped: ../shared is not beside the checkout');
});
