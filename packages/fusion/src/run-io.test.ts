import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tinyData, tinyLlama, tinyModel } from './__fixtures__/tiny.js';
import type { MmeSidModel } from './model.js';
import { recommend } from './recommend.js';
import { exportRun, loadRun, loadRunFromFiles, serializeRun } from './run-io.js';
import { trainMmeSid } from './train.js';

async function trained(config = {}): Promise<MmeSidModel> {
  const model = await tinyModel(config);
  // A few steps so LoRA B, the SID codes and the heads are all away from their init.
  await trainMmeSid(
    model,
    tinyData().split.train,
    { epochs: 1, lr: 1e-2, warmupSteps: 0, effectiveBatch: 4, microBatch: 4, maxExamples: 12 },
    { log: () => {} },
  );
  return model;
}

async function scores(model: MmeSidModel, histories: ArrayLike<number>[]): Promise<Float32Array> {
  const s = model.score(histories);
  try {
    return (await s.data()) as Float32Array;
  } finally {
    s.dispose();
  }
}

describeBackends(
  'exportRun / loadRun',
  ({ tol }) => {
    const histories = () =>
      tinyData()
        .split.test.slice(0, 4)
        .map((e) => e.history);

    it('merged LLM: the loaded run scores like the trained model (LoRA folded into the weights)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fusion-run-'));
      const model = await trained();
      let loaded: MmeSidModel | undefined;
      try {
        const nonzeroB = await model.lora!.layers.get('layers.0.mlp.gate_proj')!.loraB.weight.data();
        expect(Math.max(...nonzeroB.map(Math.abs))).toBeGreaterThan(0);
        const manifest = await exportRun(model, join(dir, 'run'), { metadata: { note: 'test' } });
        expect(manifest.llm.kind).toBe('merged');
        for (const f of ['run.json', 'fusion.safetensors', 'llm/model.safetensors', 'llm/config.json'])
          expect(existsSync(join(dir, 'run', f)), f).toBe(true);
        const json = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8'));
        expect(json.terms).toEqual(['target', 'collaborative', 'visual', 'text']);
        expect(json.prompt.prefix).toEqual([...model.prompt.prefix]);
        loaded = await loadRun(join(dir, 'run'));
        expect(loaded.lora).toBeNull();
        const a = await scores(model, histories());
        const b = await scores(loaded, histories());
        expect(maxAbsDiff(a, b)).toBeLessThan(tol * 100);
        // The weights really changed from init, so equality is not trivially true.
        const fresh = await tinyModel();
        const c = await scores(fresh, histories());
        fresh.dispose();
        expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
      } finally {
        model.dispose();
        loaded?.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('PEFT adapter + base model: identical scores; in-memory files load the same', async () => {
      const model = await trained({ head: 'fusion', sid: { projection: 'fixed' } });
      let fromFiles: MmeSidModel | undefined;
      try {
        const files = await serializeRun(model, { llm: 'adapter' });
        expect([...files.keys()].sort()).toEqual([
          'adapter/adapter_config.json',
          'adapter/adapter_model.safetensors',
          'fusion.safetensors',
          'run.json',
        ]);
        const base = tinyLlama(1); // the seed tinyModel uses: the same base weights
        fromFiles = await loadRunFromFiles(
          async (p) => {
            const f = files.get(p);
            if (!f) throw new Error(`no file ${p}`);
            return f;
          },
          { baseModel: base },
        );
        expect(fromFiles.lora).not.toBeNull();
        expect(maxAbsDiff(await scores(model, histories()), await scores(fromFiles, histories()))).toBe(0);
        await expect(loadRunFromFiles(async (p) => files.get(p)!)).rejects.toThrow(/baseModel/);
      } finally {
        model.dispose();
        fromFiles?.dispose();
      }
    });

    it('recommend: k items outside the history, best first, with fusion weights that sum to 1', async () => {
      const model = await tinyModel();
      try {
        const history = [3, 8, 12];
        const rec = await recommend(model, history, 5);
        expect(rec.items).toHaveLength(5);
        expect(rec.items.some((i) => history.includes(i) || i === 0)).toBe(false);
        for (let i = 1; i < 5; i++) expect(rec.scores[i]!).toBeLessThanOrEqual(rec.scores[i - 1]!);
        expect(rec.terms).toEqual(['target', 'collaborative', 'visual', 'text']);
        for (const w of rec.weights) expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        const all = model.score([history]);
        const top = tf.tidy(() => tf.topk(all, 8));
        const ids = Array.from(await top.indices.data()).filter((i) => !history.includes(i) && i !== 0);
        tf.dispose([all, top.values, top.indices]);
        expect(rec.items).toEqual(ids.slice(0, 5));
      } finally {
        model.dispose();
      }
    });
  },
  {
    exclude: {
      webgpu: 'trains and runs several LLM passes; SwiftShader is ~100x slower than WASM',
      cpu: 'the same code path as wasm, ~10x slower',
    },
  },
);
