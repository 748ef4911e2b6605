import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, f32ToBf16, StateDictError, saveShardedSafetensors, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InsufficientMemoryError } from './memory.js';
import { fromPretrained, loadLlamaModel } from './pretrained.js';

const s = sharedDir('models', 'stories260k');

/** bf16 round trip of float32 values (what a BF16 checkpoint of them holds, read back as float32). */
function bf16Round(v: Float32Array): Float32Array {
  const bits = f32ToBf16(v);
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

describeBackends(
  'fromPretrained (stories260k variants written to a temp dir)',
  () => {
    let dir: string;
    let source: Record<string, Float32Array>;
    const lines: string[] = [];
    beforeAll(async () => {
      if (!s.path) return;
      dir = await mkdtemp(join(tmpdir(), 'mmesid-llama-'));
      const ref = await fromPretrained(s.path, { log: (l) => lines.push(l) });
      source = {};
      for (const [k, v] of Object.entries(ref.stateDict())) source[k] = (await v.data()) as Float32Array;
      ref.dispose();
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function writeVariant(
      name: string,
      tensors: Record<string, tf.Tensor>,
      opts: { maxShardBytes?: number; bf16?: boolean } = {},
    ) {
      const d = join(dir, name);
      await saveShardedSafetensors(d, tensors, {
        ...(opts.maxShardBytes ? { maxShardBytes: opts.maxShardBytes } : {}),
        ...(opts.bf16 ? { floatDtype: 'BF16' as const } : {}),
      });
      await cp(join(s.path!, 'config.json'), join(d, 'config.json'));
      tf.dispose(Object.values(tensors));
      return d;
    }
    const tensorsOf = (keys = Object.keys(source)) =>
      Object.fromEntries(keys.map((k) => [k, tf.tensor(source[k]!, shapeOf(k), 'float32')]));
    const shapeOf = (k: string): number[] => {
      if (k.endsWith('norm.weight') || k.endsWith('layernorm.weight')) return [64];
      if (k.includes('embed_tokens') || k === 'lm_head.weight') return [512, 64];
      if (k.includes('k_proj') || k.includes('v_proj')) return [32, 64];
      if (k.includes('q_proj') || k.includes('o_proj')) return [64, 64];
      if (k.includes('down_proj')) return [64, 172];
      return [172, 64];
    };

    it.skipIf(!s.path)('prints the parameter count and the memory it needs before loading', () => {
      // 260,032 model parameters plus the stored copy of the tied classifier (512 x 64).
      expect(lines.join('\n')).toMatch(/48 tensors \(F32 x48\); 292,800 parameters/);
      expect(lines.join('\n')).toMatch(/292,800 parameters x 4 bytes = 1\.1 MiB \(1,171,200 bytes\)/);
      expect(lines.join('\n')).toMatch(/using it/); // tied, but lm_head.weight present
    });

    it.skipIf(!s.path)('loads a sharded BF16 checkpoint, converting to float32 exactly', async () => {
      const d = await writeVariant('bf16-sharded', tensorsOf(), { maxShardBytes: 100_000, bf16: true });
      const lm = await fromPretrained(d, { log: false });
      try {
        for (const [k, v] of Object.entries(lm.stateDict()))
          expect(maxAbsDiff(await v.data(), bf16Round(source[k]!)), k).toBe(0);
      } finally {
        lm.dispose();
      }
      const index = JSON.parse(await readFile(join(d, 'model.safetensors.index.json'), 'utf8'));
      expect(new Set(Object.values(index.weight_map)).size).toBeGreaterThan(3);
    });

    it.skipIf(!s.path)(
      'tied embeddings without lm_head.weight use the embedding table (same logits)',
      async () => {
        const d = await writeVariant(
          'tied',
          tensorsOf(Object.keys(source).filter((k) => k !== 'lm_head.weight')),
        );
        const tied = await fromPretrained(d, { log: false });
        const withHead = await fromPretrained(s.path!, { log: false });
        try {
          expect(tied.hasLmHead).toBe(false);
          expect(withHead.hasLmHead).toBe(true);
          const a = tied.forward({ inputIds: [[1, 403, 407, 261]] });
          const b = withHead.forward({ inputIds: [[1, 403, 407, 261]] });
          expect(maxAbsDiff(await a.logits!.data(), await b.logits!.data())).toBe(0);
          tf.dispose([a.logits!, a.lastHiddenState, b.logits!, b.lastHiddenState]);
        } finally {
          tied.dispose();
          withHead.dispose();
        }
      },
    );

    it.skipIf(!s.path)('missing and unknown tensors are a StateDictError listing them', async () => {
      const keys = Object.keys(source).filter(
        (k) => k !== 'model.layers.3.mlp.up_proj.weight' && k !== 'model.norm.weight',
      );
      const t = tensorsOf(keys);
      t['model.layers.9.mlp.extra.weight'] = tf.zeros([2]);
      const d = await writeVariant('broken', t);
      const err = await fromPretrained(d, { log: false }).catch((e) => e);
      expect(err).toBeInstanceOf(StateDictError);
      expect(err.missing.sort()).toEqual(['model.layers.3.mlp.up_proj.weight', 'model.norm.weight']);
      expect(err.unexpected).toEqual(['model.layers.9.mlp.extra.weight']);
      expect(err.message).toMatch(/broken/);
    });

    it.skipIf(!s.path)('a mis-shaped tensor is an error naming it and both shapes', async () => {
      const t = tensorsOf();
      t['model.layers.0.self_attn.k_proj.weight']!.dispose();
      t['model.layers.0.self_attn.k_proj.weight'] = tf.zeros([64, 64]);
      const d = await writeVariant('misshaped', t);
      await expect(fromPretrained(d, { log: false })).rejects.toThrow(
        /k_proj\.weight expected \[32,64\] got \[64,64\]/,
      );
    });

    it.skipIf(!s.path)('refuses when the weights exceed the memory budget, before allocating', async () => {
      const before = tf.memory().numTensors;
      const err = await fromPretrained(s.path!, {
        log: false,
        memoryBudget: { availableBytes: 500_000, source: 'a 500 kB test budget' },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(InsufficientMemoryError);
      expect(err.message).toMatch(/1,171,200 bytes.*500 kB test budget.*does not fit/);
      expect(tf.memory().numTensors).toBe(before);
      await expect(fromPretrained(s.path!, { log: false, dtype: 'float16' as 'float32' })).rejects.toThrow(
        ConfigError,
      );
    });

    it.skipIf(!s.path)(
      'loadLlamaModel takes the decoder stack from a causal-LM or a bare checkpoint',
      async () => {
        const base = await loadLlamaModel(s.path!, { log: false });
        const bareKeys = Object.keys(source).filter((k) => k !== 'lm_head.weight');
        const t = Object.fromEntries(
          Object.entries(tensorsOf(bareKeys)).map(([k, v]) => [k.replace(/^model\./, ''), v]),
        );
        const d = await writeVariant('bare', t);
        const bare = await loadLlamaModel(d, { log: false, causal: false });
        try {
          expect(Object.keys(base.stateDict())).toContain('layers.0.mlp.gate_proj.weight');
          expect(bare.causal).toBe(false);
          const a = base.forward({ inputIds: [[1, 403]] });
          const b = bare.forward({ inputIds: [[1, 403]], causal: true });
          expect(maxAbsDiff(await a.lastHiddenState.data(), await b.lastHiddenState.data())).toBe(0);
          tf.dispose([a.lastHiddenState, b.lastHiddenState]);
        } finally {
          base.dispose();
          bare.dispose();
        }
      },
    );

    it.skipIf(!s.path)('a bad config.json is a ConfigError naming the file', async () => {
      const d = join(dir, 'badcfg');
      await writeVariant('badcfg', tensorsOf());
      const cfg = JSON.parse(await readFile(join(d, 'config.json'), 'utf8'));
      await writeFile(join(d, 'config.json'), JSON.stringify({ ...cfg, hidden_act: 'gelu_new' }));
      await expect(fromPretrained(d, { log: false })).rejects.toThrow(
        /badcfg\/config\.json: hidden_act "gelu_new"/,
      );
    });
  },
  {
    exclude: {
      wasm: 'the loader is backend-independent file and state-dict logic; cpu covers it (golden.test.ts loads on every backend)',
      webgpu:
        'the loader is backend-independent file and state-dict logic; cpu covers it (golden.test.ts loads on every backend)',
    },
  },
);
