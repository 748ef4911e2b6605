import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, openSafetensors, Rng, saveSafetensors, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomizeAdapters, ToyLlama, toyInput } from '../__fixtures__/toy-llama.js';
import { applyLora } from '../apply.js';
import { AdapterMismatchError } from '../errors.js';
import { LoraLinear } from '../lora-linear.js';
import { getLora } from '../lora-model.js';
import { loadAdapterFromFiles, serializeAdapter } from './bytes.js';
import { loadAdapter, loadAdapterWeights } from './load.js';
import { saveAdapter } from './save.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const MLP3 = ['gate_proj', 'up_proj', 'down_proj'];

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mmesid-lora-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

function seeded(shape: number[], seed: number, std = 0.3): tf.Tensor {
  return tf.tensor(
    new Rng(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0, std),
    shape,
  );
}

/** Writes PEFT-named weights for the ToyLlama MLPs (r 4) into `dir`; returns them by key. */
async function writeToyWeights(
  dir: string,
  paths: string[],
  dims: Record<string, [number, number]>,
  r = 4,
  extra: Record<string, number[]> = {},
) {
  const tensors: Record<string, tf.Tensor> = {};
  let seed = 100;
  for (const p of paths) {
    const [inF, outF] = dims[p.split('.').pop()!]!;
    tensors[`base_model.model.${p}.lora_A.weight`] = seeded([r, inF], seed++);
    tensors[`base_model.model.${p}.lora_B.weight`] = seeded([outF, r], seed++);
  }
  for (const [k, shape] of Object.entries(extra)) tensors[k] = seeded(shape, seed++);
  await saveSafetensors(join(dir, 'adapter_model.safetensors'), tensors, { metadata: { format: 'pt' } });
  const out = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(tensors)) out.set(k, await values(t));
  return out;
}

const TOY_DIMS: Record<string, [number, number]> = {
  gate_proj: [8, 12],
  up_proj: [8, 12],
  down_proj: [12, 8],
  q_proj: [8, 8],
  v_proj: [8, 8],
};
const mlpPaths = [0, 1].flatMap((l) => MLP3.map((n) => `model.layers.${l}.mlp.${n}`));

describeBackends(
  'PEFT adapter files',
  ({ backend, tol }) => {
    it('round-trips through adapter_config.json + adapter_model.safetensors with bit-identical A and B', async () => {
      const model = new ToyLlama();
      const lora = applyLora(model, { r: 4, alpha: 8, dropout: 0.05, targetModules: MLP3, seed: 3 });
      randomizeAdapters(model);
      const dir = join(root, backend, 'roundtrip');
      await saveAdapter(lora, dir, { baseModelNameOrPath: 'toy/llama-2-layers', taskType: 'CAUSAL_LM' });
      expect((await readdir(dir)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
      expect((await readdir(dirname(dir))).filter((f) => f.includes('.tmp-'))).toEqual([]);

      const text = await readFile(join(dir, 'adapter_config.json'), 'utf8');
      // Byte for byte what PEFT 0.15 writes for this config (our fixture, in PEFT's exact format).
      const fixture = await readFile(join(FIXTURES, 'toy-adapter', 'adapter_config.json'), 'utf8');
      expect(text).toBe(
        fixture.replace(
          '"up_proj",\n    "down_proj",\n    "gate_proj"',
          '"down_proj",\n    "gate_proj",\n    "up_proj"',
        ),
      );

      const f = await openSafetensors(join(dir, 'adapter_model.safetensors'));
      expect(f.metadata).toEqual({ format: 'pt' });
      expect(f.keys().sort()).toEqual(
        mlpPaths
          .flatMap((p) => [`base_model.model.${p}.lora_A.weight`, `base_model.model.${p}.lora_B.weight`])
          .sort(),
      );
      expect(f.info('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight').shape).toEqual([4, 12]);
      expect(f.info('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight').dtype).toBe('F32');
      await f.close();

      const fresh = new ToyLlama();
      const loaded = await loadAdapter(fresh, dir);
      expect([...loaded.layers.keys()]).toEqual([...lora.layers.keys()]);
      expect(loaded.config).toMatchObject({ r: 4, alpha: 8, dropout: 0.05, useRslora: false });
      for (const [p, l] of lora.layers) {
        const m = loaded.layers.get(p)!;
        expect(Buffer.from((await m.loraA.weight.data()).buffer)).toEqual(
          Buffer.from((await l.loraA.weight.data()).buffer),
        );
        expect(Buffer.from((await m.loraB.weight.data()).buffer)).toEqual(
          Buffer.from((await l.loraB.weight.data()).buffer),
        );
      }
      expect(loaded.trainableParameters().size).toBe(0); // inference by default, as PEFT
      model.eval();
      fresh.eval();
      const x = toyInput([1, 4, 8]);
      expect(maxAbsDiff(await values(fresh.forward(x)), await values(model.forward(x)))).toBe(0);

      // In memory, the same two files.
      const files = await serializeAdapter(lora, {
        baseModelNameOrPath: 'toy/llama-2-layers',
        taskType: 'CAUSAL_LM',
      });
      expect(files.config).toBe(text);
      expect(Buffer.from(files.weights)).toEqual(await readFile(join(dir, 'adapter_model.safetensors')));
      const third = new ToyLlama();
      loadAdapterFromFiles(third, files, { trainable: true });
      expect(getLora(third)!.trainableParameters().size).toBe(12);
      third.eval();
      expect(maxAbsDiff(await values(third.forward(x)), await values(model.forward(x)))).toBe(0);
      x.dispose();
      for (const m of [model, fresh, third]) m.dispose();
    });

    it('loads a hand-written PEFT adapter_config.json and applies scaling lora_alpha / r', async () => {
      const dir = join(root, backend, 'fixture');
      await mkdir(dir, { recursive: true });
      await copyFile(join(FIXTURES, 'toy-adapter', 'adapter_config.json'), join(dir, 'adapter_config.json'));
      const written = await writeToyWeights(dir, mlpPaths, TOY_DIMS);
      const model = new ToyLlama();
      const reference = new ToyLlama(); // the same base weights (same seed)
      const lora = await loadAdapter(model, dir);
      expect(lora.config.targetModules).toEqual(['up_proj', 'down_proj', 'gate_proj']);
      expect(lora.layers.get('model.layers.0.mlp.up_proj')!.scaling).toBe(2);
      // Independent reference: W + (8 / 4) B A into a plain model's weights.
      for (const p of mlpPaths) {
        const a = written.get(`base_model.model.${p}.lora_A.weight`)!;
        const b = written.get(`base_model.model.${p}.lora_B.weight`)!;
        const [inF, outF] = TOY_DIMS[p.split('.').pop()!]!;
        const w = reference.getModule(p) as unknown as { weight: tf.Variable };
        tf.tidy(() => {
          const delta = tf.matMul(tf.tensor2d(b, [outF, 4]), tf.tensor2d(a, [4, inF]));
          w.weight.assign(tf.add(w.weight, tf.mul(delta, 2)));
        });
      }
      model.eval();
      reference.eval();
      const x = toyInput([2, 3, 8]);
      expect(maxAbsDiff(await values(model.forward(x)), await values(reference.forward(x)))).toBeLessThan(
        tol * 10,
      );
      x.dispose();
      model.dispose();
      reference.dispose();
    });

    it('loads a PEFT config with a regex target, rsLoRA and modules_to_save (lm_head overwritten)', async () => {
      const dir = join(root, backend, 'fixture-regex');
      await mkdir(dir, { recursive: true });
      await copyFile(
        join(FIXTURES, 'toy-adapter-regex', 'adapter_config.json'),
        join(dir, 'adapter_config.json'),
      );
      const paths = ['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj'];
      const written = await writeToyWeights(dir, paths, TOY_DIMS, 4, {
        'base_model.model.lm_head.weight': [10, 8],
      });
      const model = new ToyLlama();
      const lora = await loadAdapter(model, dir, { trainable: true });
      expect([...lora.layers.keys()]).toEqual(paths);
      expect(lora.layers.get(paths[0]!)!.scaling).toBe(16 / Math.sqrt(4));
      const head = model.getModule('lm_head') as unknown as { weight: tf.Variable };
      expect(maxAbsDiff(await head.weight.data(), written.get('base_model.model.lm_head.weight')!)).toBe(0);
      expect([...lora.trainableParameters().keys()]).toContain('lm_head.weight');
      // And it saves back in PEFT's layout: lm_head under its plain name, regex targets as the adapted paths.
      const out = join(root, backend, 'fixture-regex-resaved');
      await saveAdapter(lora, out);
      const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
      expect(cfg.target_modules).toEqual(paths);
      expect(cfg.modules_to_save).toEqual(['lm_head']);
      expect(cfg.use_rslora).toBe(true);
      const f = await openSafetensors(join(out, 'adapter_model.safetensors'));
      expect(f.keys()).toContain('base_model.model.lm_head.weight');
      await f.close();
      model.dispose();
    });

    it('lists every mismatch between an adapter and the model, and leaves the model untouched', async () => {
      const dir = join(root, backend, 'mismatch');
      await mkdir(dir, { recursive: true });
      const cfg = JSON.parse(await readFile(join(FIXTURES, 'toy-adapter', 'adapter_config.json'), 'utf8'));
      cfg.target_modules = ['up_proj', 'down_proj', 'gate_proj', 'k_proj'];
      await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(cfg));
      // Layer 1's gate_proj is missing and a stray tensor is present.
      await writeToyWeights(
        dir,
        mlpPaths.filter((p) => p !== 'model.layers.1.mlp.gate_proj'),
        TOY_DIMS,
        4,
        { 'base_model.model.model.layers.0.mlp.act.lora_A.weight': [4, 8] },
      );
      const wide = new ToyLlama(8, 16); // intermediate 16, the adapter was made for 12
      const keys = Object.keys(wide.stateDict());
      const err = await loadAdapter(wide, dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterMismatchError);
      const e = err as AdapterMismatchError;
      expect(e.problems.join()).toContain('"k_proj"');
      expect(e.missing).toEqual([
        'base_model.model.model.layers.1.mlp.gate_proj.lora_A.weight',
        'base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight',
      ]);
      expect(e.unexpected).toEqual(['base_model.model.model.layers.0.mlp.act.lora_A.weight']);
      // gate/up B [16, 4] vs [12, 4], down A [4, 16] vs [4, 12]: 5 modules present.
      expect(e.mismatched.map((m) => m.key).sort()).toEqual(
        [
          'model.layers.0.mlp.gate_proj.lora_B',
          'model.layers.0.mlp.up_proj.lora_B',
          'model.layers.0.mlp.down_proj.lora_A',
          'model.layers.1.mlp.up_proj.lora_B',
          'model.layers.1.mlp.down_proj.lora_A',
        ]
          .map((k) => `base_model.model.${k}.weight`)
          .sort(),
      );
      expect(e.message).toContain('expected [16,4] got [12,4]');
      expect(Object.keys(wide.stateDict())).toEqual(keys);
      expect(getLora(wide)).toBeUndefined();
      expect([...wide.namedModules()].some(([, m]) => m instanceof LoraLinear)).toBe(false);
      wide.dispose();
    });

    it('refuses PEFT features it cannot honour, naming all of them', async () => {
      const dir = join(root, backend, 'unsupported');
      await mkdir(dir, { recursive: true });
      const cfg = JSON.parse(await readFile(join(FIXTURES, 'toy-adapter', 'adapter_config.json'), 'utf8'));
      Object.assign(cfg, { use_dora: true, bias: 'all', layers_to_transform: [0] });
      await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(cfg));
      await writeToyWeights(dir, mlpPaths, TOY_DIMS);
      const model = new ToyLlama();
      const err = (await loadAdapter(model, dir).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(/bias "all".*use_dora.*layers_to_transform/);
      await writeFile(join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, peft_type: 'IA3' }));
      await expect(loadAdapter(model, dir)).rejects.toThrow(/peft_type/);
      await expect(loadAdapter(model, join(dir, 'nowhere'))).rejects.toThrow(/adapter_config\.json/);
      model.dispose();
    });

    it('replaces the weights of an adapted model, and saves over an existing directory keeping other files', async () => {
      const model = new ToyLlama();
      const lora = applyLora(model, { r: 4, alpha: 8, targetModules: MLP3 });
      randomizeAdapters(model, 9);
      const dir = join(root, backend, 'resume');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'tokenizer.json'), '{}');
      await saveAdapter(lora, dir);
      expect((await readdir(dir)).sort()).toEqual([
        'adapter_config.json',
        'adapter_model.safetensors',
        'tokenizer.json',
      ]);
      expect((await readdir(dirname(dir))).filter((f) => f.includes('.tmp-'))).toEqual([]);
      const saved = await lora.layers.get('model.layers.1.mlp.up_proj')!.loraB.weight.data();

      const other = new ToyLlama();
      const lo = applyLora(other, { r: 4, alpha: 8, targetModules: MLP3, seed: 5 });
      lo.merge();
      await loadAdapterWeights(lo, dir);
      expect(lo.merged).toBe(true);
      expect(maxAbsDiff(await lo.layers.get('model.layers.1.mlp.up_proj')!.loraB.weight.data(), saved)).toBe(
        0,
      );
      expect(lo.trainableParameters().size).toBe(12);
      lo.unmerge();
      model.eval();
      other.eval();
      const x = toyInput([1, 2, 8]);
      expect(maxAbsDiff(await values(other.forward(x)), await values(model.forward(x)))).toBeLessThan(
        tol * 10,
      );

      const r2 = new ToyLlama();
      const l2 = applyLora(r2, { r: 2, alpha: 8, targetModules: ['gate_proj', 'up_proj'] });
      const err = (await loadAdapterWeights(l2, dir).catch((e: unknown) => e)) as AdapterMismatchError;
      expect(err).toBeInstanceOf(AdapterMismatchError);
      expect(err.problems.join('\n')).toMatch(/r is 4 .* but 2/);
      expect(err.problems.join('\n')).toMatch(/no adapter on: model\.layers\.0\.mlp\.down_proj/);
      x.dispose();
      for (const m of [model, other, r2]) m.dispose();
    });
  },
  {
    exclude: {
      webgpu:
        'file I/O is backend-independent and each test compiles new shaders on SwiftShader (20-30 s each here); the webgpu path (async download of every tensor) has its own suite below',
    },
  },
);

describeBackends(
  'PEFT adapter files from a GPU backend',
  ({ backend }) => {
    it('saves with asynchronous downloads and loads back bit-identical A and B', async () => {
      const model = new ToyLlama();
      const lora = applyLora(model, { r: 4, alpha: 8, targetModules: MLP3, seed: 3 });
      randomizeAdapters(model);
      const dir = join(root, backend, 'gpu-roundtrip');
      await saveAdapter(lora, dir);
      const files = await serializeAdapter(lora);
      expect(Buffer.from(files.weights)).toEqual(await readFile(join(dir, 'adapter_model.safetensors')));
      const fresh = new ToyLlama();
      const loaded = await loadAdapter(fresh, dir);
      for (const [p, l] of lora.layers) {
        const m = loaded.layers.get(p)!;
        expect(Buffer.from((await m.loraA.weight.data()).buffer)).toEqual(
          Buffer.from((await l.loraA.weight.data()).buffer),
        );
        expect(Buffer.from((await m.loraB.weight.data()).buffer)).toEqual(
          Buffer.from((await l.loraB.weight.data()).buffer),
        );
      }
      model.dispose();
      fresh.dispose();
    });
  },
  { only: ['webgpu'] },
);
