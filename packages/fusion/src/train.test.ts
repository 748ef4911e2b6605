import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tinyData, tinyModel } from './__fixtures__/tiny.js';
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
