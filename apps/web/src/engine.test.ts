/**
 * The engine in Node on the CPU backend, over a tiny exported run read as picked files and over
 * HTTP: what it returns must be exactly what `@mmesid/fusion` computes for the same run (same
 * backend, so equal to the last bit), and requests must not leak tensors.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { evaluateMmeSid, loadRun, type MmeSidModel, recommend } from '@mmesid/fusion';
import { type StaticServer, serveStatic } from '@mmesid/test-utils/static-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyRun, type TinyRun } from '../scripts/tiny-run.js';
import { Engine } from './engine.js';
import type { LoadProgress } from './protocol.js';

async function filesUnder(dir: string, prefix: string): Promise<File[]> {
  const out: File[] = [];
  const walk = async (d: string) => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out.push(new File([await readFile(p)], `${prefix}${relative(dir, p)}`));
    }
  };
  await walk(dir);
  return out;
}

describe('Engine (Node, cpu)', () => {
  let tmp: string;
  let run: TinyRun;
  let reference: MmeSidModel;
  let server: StaticServer;
  const engine = new Engine({ inWorker: false });

  beforeAll(async () => {
    const backend = await engine.init('cpu');
    expect(backend).toMatchObject({ name: 'cpu', inWorker: false });
    tmp = await mkdtemp(join(tmpdir(), 'mmesid-web-'));
    run = await makeTinyRun({ dir: join(tmp, 'run'), steps: 2 });
    reference = await loadRun(run.dir);
    server = await serveStatic({ '/run/': run.dir });
  });

  afterAll(async () => {
    reference?.dispose();
    await server?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('loads a picked folder and answers exactly as fusion does', async () => {
    const files = await filesUnder(run.dir, 'picked/export/');
    const phases: LoadProgress['phase'][] = [];
    const info = await engine.load({ kind: 'files', files, root: 'picked/export/' }, (p) => {
      if (phases.at(-1) !== p.phase) phases.push(p.phase);
    });
    expect(phases).toEqual(['manifest', 'download', 'build', 'warmup']);
    expect(info).toMatchObject({
      numItems: run.numItems,
      head: 'fusion',
      terms: reference.termNames,
      hidden: 32,
      layers: 2,
    });
    expect(info.bytes).toBe(files.reduce((a, f) => a + f.size, 0));
    expect(info.titles).toEqual(run.titles);
    expect(info.testUsers?.map((u) => [u.history, u.target])).toEqual(
      run.test.map((u) => [u.history, u.target]),
    );
    expect(info.metadata).toMatchObject({ variant: 'MME-SID (tiny, synthetic)' });

    const history = run.test[3]!.history;
    const got = await engine.recommend(history, 10);
    const want = await recommend(reference, history, 10);
    expect(got).toMatchObject({
      items: want.items,
      scores: want.scores,
      terms: want.terms,
      weights: want.weights,
      history,
    });
    const { ranks } = await evaluateMmeSid(reference, [run.test[3]!], { batchSize: 1, ks: [1] });
    expect((await engine.rank(history, run.test[3]!.target)).rank).toBe(ranks[0]);
  });

  it('loads over HTTP, and repeated requests leave the live tensor count unchanged', async () => {
    const info = await engine.load({ kind: 'url', url: `${server.origin}/run/` }, () => {});
    expect(info.testUsers).toHaveLength(run.test.length);
    const first = await engine.recommend([1, 2, 3], 5);
    const again = await engine.recommend([1, 2, 3], 5);
    await engine.rank([1, 2, 3], 4);
    const third = await engine.recommend([4], 5);
    expect(again.scores).toEqual(first.scores);
    expect(again.liveTensors).toBe(first.liveTensors);
    expect(third.liveTensors).toBe(first.liveTensors);
    expect(first.items).not.toContain(1);
  });

  it('reports bad requests and bad folders with a reason', async () => {
    await expect(engine.recommend([run.numItems + 1], 5)).rejects.toThrow(
      new RegExp(`not an item id in 1\\.\\.${run.numItems}`),
    );
    await expect(engine.load({ kind: 'url', url: `${server.origin}/nothing/` }, () => {})).rejects.toThrow(
      /run\.json not found/,
    );
    await expect(new Engine({ inWorker: false }).recommend([1], 5)).rejects.toThrow(/no run is loaded/);
  });
});
