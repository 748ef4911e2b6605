import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackends } from '@mmesid/test-utils';
import { afterAll, expect, it } from 'vitest';
import { MmesidError } from '../errors.js';
import { tf } from '../tf.js';
import { AdamW } from './adamw.js';
import {
  readTrainingCheckpoint,
  restoreTrainingCheckpoint,
  saveTrainingCheckpoint,
} from './training-checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'tensor-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeBackends('training checkpoints', ({ backend }) => {
  it('round-trip weights, best weights, AdamW moments and step, and state, in one layout', async () => {
    const dir = join(root, `run-${backend}`);
    const w0 = tf.tensor1d([1, 2, 3]);
    const p: tf.Variable = tf.variable(w0);
    w0.dispose();
    const opt = new AdamW(new Map([['p', p]]), { lr: 0.1 });
    const g = tf.tensor1d([0.5, -1, 2]);
    opt.step(new Map([['p', g]]));
    const best = { p: tf.tensor1d([9, 8, 7]) };
    expect(await readTrainingCheckpoint(dir, 'test')).toBeNull();
    await saveTrainingCheckpoint(dir, {
      format: 'test',
      weights: { p },
      optimizer: opt,
      best,
      state: { epoch: 3 },
    });
    expect(readdirSync(join(dir, 'checkpoint')).sort()).toEqual([
      'best.safetensors',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    const found = await readTrainingCheckpoint<{ epoch: number }>(dir, 'test');
    expect(found?.state).toEqual({ epoch: 3 });
    expect(found?.optimizerStep).toBe(1);
    await expect(readTrainingCheckpoint(dir, 'other')).rejects.toThrow(/not a other checkpoint/);

    const q0 = tf.tensor1d([0, 0, 0]);
    const q: tf.Variable = tf.variable(q0);
    q0.dispose();
    const opt2 = new AdamW(new Map([['p', q]]), { lr: 0.1 });
    const restored = await restoreTrainingCheckpoint(found!, opt2);
    q.assign(restored.weights.get('p')!);
    expect(Array.from(await restored.best!.get('p')!.data())).toEqual([9, 8, 7]);
    tf.dispose([...restored.weights.values(), ...restored.best!.values()]);
    expect(opt2.stepCount).toBe(1);
    opt.step(new Map([['p', g]]));
    opt2.step(new Map([['p', g]]));
    expect(Array.from(await q.data())).toEqual(Array.from(await p.data()));
    tf.dispose([p, q, g, best.p]);
    opt.dispose();
    opt2.dispose();
  });

  it('refuses a directory that holds a checkpoint of an older layout', async () => {
    const dir = join(root, `legacy-${backend}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'latest.json'), '{"checkpoint": "epoch-0002"}');
    await expect(readTrainingCheckpoint(dir, 'test')).rejects.toThrow(MmesidError);
    await expect(readTrainingCheckpoint(dir, 'test')).rejects.toThrow(/cannot be resumed: delete it/);
  });
});
