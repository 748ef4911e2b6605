/**
 * LoRA on a real pre-trained Llama: a short fine-tune of stories260k (r 8, alpha 16, dropout 0.05 on
 * gate/up/down, MME-SID's LoRA config) on a few sentences must lower their loss while every base
 * weight stays bit-identical, and the adapter must survive a PEFT save/load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPretrained, Llama2cTokenizer, type LlamaForCausalLM } from '@mmesid/llama';
import { applyLora, loadAdapter, saveAdapter } from '@mmesid/lora';
import { AdamW, Trainer, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { expect, it } from 'vitest';

const stories = sharedDir('models', 'stories260k');

const SENTENCES = [
  'The purple robot sang to the moon every night.',
  'Grandpa Otto baked seven blue cakes for the zebra.',
  'A tiny dragon named Pip collected shiny spoons.',
  'The silver whale whispered secrets to the lighthouse.',
];

/** Mean next-token cross-entropy over the sentences (each its own sequence, no padding needed). */
function lossOf(lm: LlamaForCausalLM, seqs: number[][]): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    let count = 0;
    for (const ids of seqs) {
      const { logits, lastHiddenState } = lm.forward({ inputIds: [ids] });
      lastHiddenState.dispose();
      const V = logits!.shape[2]!;
      const T = ids.length - 1;
      const z = tf.reshape(tf.slice(logits!, [0, 0, 0], [1, T, V]), [T, V]);
      // log-softmax by hand and a one-hot built on the CPU: tf.logSoftmax and tf.oneHot put a Cast on
      // the tape, and Cast's gradient calls tensor.clone(), which throws under vitest here (tfjs-core's
      // op handler is unset in the copy that registers gradients).
      const logp = tf.sub(z, tf.logSumExp(z, -1, true));
      const hot = new Float32Array(T * V);
      ids.slice(1).forEach((id, t) => {
        hot[t * V + id] = 1;
      });
      const target = tf.tensor2d(hot, [T, V]);
      total = tf.sub(total, tf.sum(tf.mul(logp, target)));
      count += T;
    }
    return tf.div(total, count) as tf.Scalar;
  });
}

async function scalar(t: tf.Scalar): Promise<number> {
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}

describeBackends(
  'LoRA fine-tune of stories260k',
  () => {
    it.skipIf(!stories.path)(
      'lowers the loss of a few sentences in 20 AdamW steps while the base weights stay bit-identical',
      async () => {
        const dir = stories.path!;
        const tok = await Llama2cTokenizer.load(join(dir, 'tokenizer.llama2c.json'));
        const seqs = SENTENCES.map((s) => tok.encode(s, { bos: true }));
        const lm = await fromPretrained(dir, { log: false });
        const base = new Map<string, Float32Array>();
        for (const [n, p] of lm.namedParameters()) base.set(n, (await p.data()) as Float32Array);

        const lora = applyLora(lm, {
          r: 8,
          alpha: 16,
          dropout: 0.05,
          targetModules: ['gate_proj', 'up_proj', 'down_proj'],
          seed: 0,
        });
        // 5 layers x 8 x ((64 + 172) + (64 + 172) + (172 + 64)).
        expect(lora.summary().trainable).toBe(5 * 8 * 3 * 236);
        lm.eval();
        const before = await scalar(lossOf(lm, seqs));

        const optimizer = new AdamW(lora.trainableParameters(), { lr: 1e-2, weightDecay: 0 });
        const trainer = new Trainer({ optimizer });
        lm.train();
        for (let step = 0; step < 20; step++) await trainer.step(() => lossOf(lm, seqs));
        trainer.dispose();
        optimizer.dispose();
        lm.eval();
        const after = await scalar(lossOf(lm, seqs));
        console.log(
          `[lora-llama] mean next-token loss ${before.toFixed(4)} -> ${after.toFixed(4)}; ${lora.summary().text}`,
        );
        expect(after).toBeLessThan(before * 0.8);

        for (const [n, p] of lm.namedParameters()) {
          if (/\.lora_[AB]\./.test(n)) continue;
          const orig = base.get(n.replace('.base_layer.', '.'));
          expect(orig, n).toBeDefined();
          expect(
            Buffer.from(((await p.data()) as Float32Array).buffer).equals(Buffer.from(orig!.buffer)),
            n,
          ).toBe(true);
        }

        // The trained adapter through PEFT's files onto a fresh copy gives the same loss.
        const out = await mkdtemp(join(tmpdir(), 'mmesid-lora-llama-'));
        try {
          await saveAdapter(lora, out, {
            baseModelNameOrPath: 'karpathy/tinyllamas/stories260K',
            taskType: 'CAUSAL_LM',
          });
          const fresh = await fromPretrained(dir, { log: false });
          await loadAdapter(fresh, out);
          fresh.eval();
          expect(maxAbsDiff([await scalar(lossOf(fresh, seqs))], [after])).toBeLessThan(1e-5);
          fresh.dispose();
        } finally {
          await rm(out, { recursive: true, force: true });
        }
        lm.dispose();
      },
    );
  },
  {
    exclude: {
      cpu: 'the same float32 kernels as wasm at a third of the speed; the LoRA maths runs on every backend in @mmesid/lora',
      webgpu:
        '21 forward/backward passes of a 5-layer model on SwiftShader take minutes; LoRA on webgpu is covered in @mmesid/lora',
    },
  },
);
