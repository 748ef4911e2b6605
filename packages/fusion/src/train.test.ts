import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tinyData, tinyModel } from './__fixtures__/tiny.js';
import { evaluateMmeSid } from './evaluate.js';
import { trainMmeSid } from './train.js';
import { groupBySequence, selectTrainingPairs } from './train-units.js';

const quiet = () => {};
const base = {
  epochs: 3,
  lr: 3e-3,
  warmupSteps: 1,
  effectiveBatch: 8,
  microBatch: 4,
  maxExamples: 32,
  logEvery: 1,
  seed: 3,
} as const;

describeBackends(
  'trainMmeSid',
  () => {
    it('paper mode: one pair per forward, accumulation to the effective batch, the loss goes down', async () => {
      const model = await tinyModel({ lora: { dropout: 0 } });
      try {
        const progress: number[] = [];
        const r = await trainMmeSid(model, tinyData().split.train, base, {
          log: quiet,
          onProgress: (p) => progress.push(p.step),
        });
        expect(r.mode).toBe('paper');
        expect(r.modeNote).toMatch(/^paper mode: one forward pass per \(history, target\) training pair/);
        expect(r.pairs).toBe(32);
        expect(r.forwardUnits).toBe(32);
        expect(r.optimizerSteps).toBe(12); // 3 epochs x 32 / 8
        expect(r.totalSteps).toBe(12);
        expect(r.examplesSeen).toBe(96);
        expect(r.stoppedBy).toBe('done');
        expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        expect(r.finalLoss).toBeLessThan(r.firstLoss - 0.3);
        expect(r.parameters.trainable).toBeGreaterThan(0);
        expect(model.training).toBe(false);
      } finally {
        model.dispose();
      }
    });

    it('efficient mode: one forward per user sequence over the same pairs, the loss goes down', async () => {
      const model = await tinyModel({ itemsAtEnd: true, lora: { dropout: 0 } });
      try {
        const r = await trainMmeSid(
          model,
          tinyData().split.train,
          { ...base, mode: 'efficient' },
          { log: quiet },
        );
        expect(r.mode).toBe('efficient');
        expect(r.modeNote).toMatch(/^efficient mode: .*32 pairs from \d+ sequences/);
        expect(r.modeNote).toMatch(/no response header/);
        expect(r.pairs).toBe(32);
        expect(r.forwardUnits).toBeLessThan(32);
        expect(r.finalLoss).toBeLessThan(r.firstLoss - 0.3);
      } finally {
        model.dispose();
      }
    });

    it('maxUsers trains on whole user sequences: one forward unit per chosen user', async () => {
      const model = await tinyModel({ itemsAtEnd: true, lora: { dropout: 0 } });
      try {
        const train = tinyData().split.train;
        const chosen = selectTrainingPairs(train, { maxUsers: 5, seed: base.seed });
        const r = await trainMmeSid(
          model,
          train,
          { ...base, mode: 'efficient', epochs: 1, maxExamples: undefined, maxUsers: 5, maxSteps: 1 },
          { log: quiet },
        );
        expect(r.forwardUnits).toBe(5);
        expect(r.pairs).toBe(chosen.length);
      } finally {
        model.dispose();
      }
    });

    it('efficient mode refuses a prompt with a response header after the items', async () => {
      const model = await tinyModel();
      try {
        await expect(
          trainMmeSid(model, tinyData().split.train, { mode: 'efficient' }, { log: quiet }),
        ).rejects.toThrow(/itemsAtEnd/);
      } finally {
        model.dispose();
      }
    });

    it('a run stopped after 2 steps and resumed from its checkpoint ends where an uninterrupted run does', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fusion-ckpt-'));
      const cfg = { ...base, epochs: 1, checkpointDir: dir, checkpointEvery: 100 };
      const straight = await tinyModel({ lora: { dropout: 0 } });
      const first = await tinyModel({ lora: { dropout: 0 } });
      const second = await tinyModel({ lora: { dropout: 0 } });
      try {
        const a = await trainMmeSid(straight, tinyData().split.train, { ...base, epochs: 1 }, { log: quiet });
        const b1 = await trainMmeSid(first, tinyData().split.train, { ...cfg, maxSteps: 2 }, { log: quiet });
        expect(b1.stoppedBy).toBe('maxSteps');
        expect(b1.optimizerSteps).toBe(2);
        expect(readdirSync(join(dir, 'checkpoint')).sort()).toEqual([
          'adapter',
          'model.safetensors',
          'optimizer.safetensors',
          'trainer_state.json',
        ]);
        const b2 = await trainMmeSid(second, tinyData().split.train, cfg, { log: quiet });
        expect(b2.resumedFromStep).toBe(2);
        expect(b2.optimizerSteps).toBe(a.optimizerSteps);
        const want = straight.trainableParameters();
        for (const [name, p] of second.trainableParameters())
          expect(maxAbsDiff(await p.data(), await want.get(name)!.data()), name).toBeLessThan(1e-6);
        // The stopped model's weights differ (it did only 2 of the steps): the comparison can fail.
        const w = first.trainableParameters().get('item_tokenizer.mlp.layers.1.weight')!;
        expect(
          maxAbsDiff(await w.data(), await want.get('item_tokenizer.mlp.layers.1.weight')!.data()),
        ).toBeGreaterThan(1e-5);
        await expect(
          trainMmeSid(second, tinyData().split.train, { ...cfg, lr: 1e-2 }, { log: quiet }),
        ).rejects.toThrow(/another train config/);
      } finally {
        straight.dispose();
        first.dispose();
        second.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('with dropout on, a run killed after a checkpoint and resumed from a moved copy of its directory ends bit-identical', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fusion-ckpt-drop-'));
      const moved = mkdtempSync(join(tmpdir(), 'fusion-ckpt-moved-'));
      const cfg = { ...base, epochs: 1, checkpointEvery: 2 };
      const straight = await tinyModel({ lora: { dropout: 0.2 } });
      const first = await tinyModel({ lora: { dropout: 0.2 } });
      const second = await tinyModel({ lora: { dropout: 0.2 } });
      try {
        const a = await trainMmeSid(straight, tinyData().split.train, cfg, { log: quiet });
        // Stops after step 3; the last checkpoint on the interval is step 2, the stop writes step 3.
        const b1 = await trainMmeSid(
          first,
          tinyData().split.train,
          { ...cfg, checkpointDir: dir, maxSteps: 3 },
          { log: quiet },
        );
        expect(b1.optimizerSteps).toBe(3);
        cpSync(join(dir, 'checkpoint'), join(moved, 'checkpoint'), { recursive: true });
        rmSync(dir, { recursive: true, force: true });
        const b2 = await trainMmeSid(
          second,
          tinyData().split.train,
          { ...cfg, checkpointDir: moved },
          { log: quiet },
        );
        expect(b2.resumedFromStep).toBe(3);
        expect(b2.optimizerSteps).toBe(a.optimizerSteps);
        const want = straight.trainableParameters();
        for (const [name, p] of second.trainableParameters())
          expect(maxAbsDiff(await p.data(), await want.get(name)!.data()), name).toBe(0);
      } finally {
        straight.dispose();
        first.dispose();
        second.dispose();
        rmSync(dir, { recursive: true, force: true });
        rmSync(moved, { recursive: true, force: true });
      }
    });

    // A scripted validation metric (step -> value): best at step 4, then two evaluations without
    // improvement, so patience 2 stops the run at step 8 of 12.
    const script: Record<number, number> = { 2: 0.1, 4: 0.3, 6: 0.2, 8: 0.25, 10: 0.5, 12: 0.6 };
    const scripted = { validate: async (_m: unknown, step: number) => script[step] ?? Number.NaN };
    const early = { ...base, validateEvery: 2, patience: 2 };
    const weightsOf = async (m: Awaited<ReturnType<typeof tinyModel>>) =>
      new Map(
        await Promise.all(
          [...m.trainableParameters()].map(async ([k, v]) => [k, (await v.data()) as Float32Array] as const),
        ),
      );

    it('validation early stopping: worsening evaluations stop the run at the expected step and the best weights come back', async () => {
      const stopped = await tinyModel({ lora: { dropout: 0 } });
      const atBest = await tinyModel({ lora: { dropout: 0 } });
      const atStop = await tinyModel({ lora: { dropout: 0 } });
      try {
        const r = await trainMmeSid(stopped, tinyData().split.train, early, { log: quiet, ...scripted });
        expect(r.stoppedBy).toBe('patience');
        expect(r.optimizerSteps).toBe(8);
        expect(r.totalSteps).toBe(12);
        expect(r.validation?.evals).toEqual([
          { step: 2, metric: 0.1 },
          { step: 4, metric: 0.3 },
          { step: 6, metric: 0.2 },
          { step: 8, metric: 0.25 },
        ]);
        expect(r.validation?.bestStep).toBe(4);
        expect(r.validation?.best).toBe(0.3);
        // A run without validation paused at step 4 holds the weights of step 4 (the schedule spans
        // all 12 steps either way, and evaluating does not change the training trajectory).
        const p4 = await trainMmeSid(
          atBest,
          tinyData().split.train,
          { ...base, maxSteps: 4 },
          { log: quiet },
        );
        expect(p4.stoppedBy).toBe('maxSteps');
        const p8 = await trainMmeSid(
          atStop,
          tinyData().split.train,
          { ...base, maxSteps: 8 },
          { log: quiet },
        );
        expect(p8.stoppedBy).toBe('maxSteps');
        const got = await weightsOf(stopped);
        const want = await weightsOf(atBest);
        const last = await weightsOf(atStop);
        for (const [k, v] of got) expect(maxAbsDiff(v, want.get(k)!), k).toBe(0);
        // Step 8's weights differ, so the comparison above can fail.
        const k = 'item_tokenizer.mlp.layers.1.weight';
        expect(maxAbsDiff(got.get(k)!, last.get(k)!)).toBeGreaterThan(1e-5);
      } finally {
        stopped.dispose();
        atBest.dispose();
        atStop.dispose();
      }
    });

    it('validation on the validation split: nDCG@10 of the returned model is the best evaluation', async () => {
      const model = await tinyModel({ lora: { dropout: 0 } });
      try {
        const { split } = tinyData();
        const r = await trainMmeSid(
          model,
          split.train,
          { ...base, validateEvery: 4, patience: 5 },
          { log: quiet },
          split.valid,
        );
        expect(r.stoppedBy).toBe('done');
        expect(r.validation?.evals.map((e) => e.step)).toEqual([4, 8, 12]);
        expect(r.validation?.pairs).toBe(split.valid.length);
        expect(r.validation?.every).toBe(4);
        const best = Math.max(...r.validation!.evals.map((e) => e.metric));
        expect(r.validation?.best).toBe(best);
        const again = await evaluateMmeSid(model, split.valid, { batchSize: 16, ks: [10] });
        expect(again.metrics.ndcg[10]).toBeCloseTo(best, 6);
        // Two per epoch of 4 steps: every 2 steps.
        const perEpoch = await trainMmeSid(
          model,
          split.train,
          { ...base, epochs: 1, validationsPerEpoch: 2, maxValidationUsers: 5 },
          { log: quiet },
          split.valid,
        );
        expect(perEpoch.validation?.evals.map((e) => e.step)).toEqual([2, 4]);
        expect(perEpoch.validation?.pairs).toBe(5);
        await expect(
          trainMmeSid(model, split.train, { ...base, validateEvery: 4 }, { log: quiet }),
        ).rejects.toThrow(/no validation pairs/);
        await expect(trainMmeSid(model, split.train, base, { log: quiet }, split.valid)).rejects.toThrow(
          /neither validateEvery nor validationsPerEpoch is set/,
        );
      } finally {
        model.dispose();
      }
    });

    it('a run paused after an evaluation and resumed from its checkpoint stops and ends exactly as an uninterrupted one', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fusion-ckpt-val-'));
      const cfg = { ...early, checkpointDir: dir, checkpointEvery: 100 };
      const straight = await tinyModel({ lora: { dropout: 0.2 } });
      const first = await tinyModel({ lora: { dropout: 0.2 } });
      const second = await tinyModel({ lora: { dropout: 0.2 } });
      const third = await tinyModel({ lora: { dropout: 0.2 } });
      try {
        const a = await trainMmeSid(straight, tinyData().split.train, early, { log: quiet, ...scripted });
        // Paused at step 5: after the step-4 evaluation that set the best weights.
        const b1 = await trainMmeSid(
          first,
          tinyData().split.train,
          { ...cfg, maxSteps: 5 },
          {
            log: quiet,
            ...scripted,
          },
        );
        expect(b1.stoppedBy).toBe('maxSteps');
        expect(readdirSync(join(dir, 'checkpoint'))).toContain('best.safetensors');
        const b2 = await trainMmeSid(second, tinyData().split.train, cfg, { log: quiet, ...scripted });
        expect(b2.resumedFromStep).toBe(5);
        expect(b2.stoppedBy).toBe('patience');
        expect(b2.optimizerSteps).toBe(a.optimizerSteps);
        expect(b2.validation).toEqual(a.validation);
        const want = await weightsOf(straight);
        for (const [k, v] of await weightsOf(second)) expect(maxAbsDiff(v, want.get(k)!), k).toBe(0);
        // Running it again finds the finished checkpoint: no more training, the same best weights.
        const b3 = await trainMmeSid(third, tinyData().split.train, cfg, { log: quiet, ...scripted });
        expect(b3.stoppedBy).toBe('patience');
        expect(b3.optimizerSteps).toBe(8);
        for (const [k, v] of await weightsOf(third)) expect(maxAbsDiff(v, want.get(k)!), k).toBe(0);
      } finally {
        straight.dispose();
        first.dispose();
        second.dispose();
        third.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
  {
    exclude: {
      webgpu: 'training runs many forward/backward passes; SwiftShader is ~100x slower than WASM',
      cpu: 'the same code path as wasm, ~10x slower',
    },
  },
);

it('groupBySequence feeds each user once and reads every pair at its prefix', () => {
  const seq = Int32Array.from([5, 6, 7, 8]);
  const units = groupBySequence([
    { user: 0, history: seq.subarray(0, 0), target: 5 },
    { user: 0, history: seq.subarray(0, 2), target: 7 },
    { user: 1, history: Int32Array.from([9]), target: 3 },
    { user: 0, history: seq.subarray(0, 3), target: 8 },
  ]);
  expect(units).toHaveLength(2);
  expect(Array.from(units[0]!.items)).toEqual([5, 6, 7]);
  expect(units[0]!.prefixLengths).toEqual([0, 2, 3]);
  expect(units[0]!.targets).toEqual([5, 7, 8]);
  expect(() =>
    groupBySequence([
      { user: 0, history: [1, 2], target: 3 },
      { user: 0, history: [4], target: 5 },
    ]),
  ).toThrow(/not a prefix/);
});

it('selectTrainingPairs keeps every pair of exactly maxUsers users, seeded, then caps pairs', () => {
  const train = tinyData().split.train;
  const count = (ps: readonly { user: number }[]) => {
    const m = new Map<number, number>();
    for (const p of ps) m.set(p.user, (m.get(p.user) ?? 0) + 1);
    return m;
  };
  const all = count(train);
  const picked = selectTrainingPairs(train, { maxUsers: 5, seed: 3 });
  const got = count(picked);
  expect(got.size).toBe(5);
  for (const [user, n] of got) expect(n).toBe(all.get(user));
  // Input order kept; the same seed picks the same users, another seed (here) others.
  expect(picked).toEqual(train.filter((p) => got.has(p.user)));
  expect(selectTrainingPairs(train, { maxUsers: 5, seed: 3 })).toEqual(picked);
  expect([...count(selectTrainingPairs(train, { maxUsers: 5, seed: 4 })).keys()].sort()).not.toEqual(
    [...got.keys()].sort(),
  );
  // No cap, or a cap at least the number of users: everything.
  expect(selectTrainingPairs(train, { seed: 3 })).toBe(train);
  expect(selectTrainingPairs(train, { maxUsers: all.size, seed: 3 })).toBe(train);
  // maxExamples after maxUsers: a subset of those users' pairs.
  const capped = selectTrainingPairs(train, { maxUsers: 5, maxExamples: 3, seed: 3 });
  expect(capped).toHaveLength(3);
  for (const p of capped) expect(got.has(p.user)).toBe(true);
});
