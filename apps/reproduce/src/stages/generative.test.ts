import { describe, expect, it } from 'vitest';
import { evalUserIndices, evalUsers, generativeStageConfig, isGenerativeVariant } from './generative.js';

const rqvae = { levels: 4, codebookSize: 256, eDim: 64, hiddenLayers: [64], maxEpochs: 3, batchSize: 512 };
const opts = { seed: 1, llama: 'x', bench: true, paper: false, rqvae };

describe('generative stage settings', () => {
  it('evalUsers: all users, or a fixed seeded sample kept in the original order', () => {
    const test = Array.from({ length: 50 }, (_, i) => i * 10);
    expect(evalUsers(test, undefined)).toBe(test);
    expect(evalUsers(test, 50)).toBe(test);
    const a = evalUsers(test, 12);
    expect(a).toHaveLength(12);
    expect(new Set(a).size).toBe(12);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(a.every((x) => test.includes(x))).toBe(true);
    expect(evalUsers(test, 12)).toEqual(a); // the same users every time (and for every variant)
    expect(a).not.toEqual(test.slice(0, 12)); // a sample, not the first users
    // The positions other rows' ranks are restricted to are those users' positions.
    expect(evalUserIndices(50, 12).map((i) => test[i])).toEqual(a);
    expect(evalUserIndices(5, undefined)).toEqual([0, 1, 2, 3, 4]);
    // Nested: a larger sample keeps the smaller one's users (the first of the same shuffle).
    expect(evalUserIndices(50, 30).filter((i) => evalUserIndices(50, 12).includes(i))).toEqual(
      evalUserIndices(50, 12),
    );
  });

  it('TIGER-MM trains one RQ-VAE per modality, TIGER-MM-joint reads the joint export; only LETTER has a loss temperature', () => {
    expect(isGenerativeVariant('TIGER-MM-joint')).toBe(true);
    expect(generativeStageConfig('TIGER-MM', opts)).toMatchObject({
      tigerTokenizer: 'per-modality',
      rankingTemperature: 1,
    });
    expect(generativeStageConfig('TIGER-MM-joint', opts).tigerTokenizer).toBe('joint');
    expect(generativeStageConfig('LETTER', opts).rankingTemperature).toBe(0.7);
    expect(generativeStageConfig('LETTER', { ...opts, rankingTemperature: 1 }).rankingTemperature).toBe(1);
    expect(generativeStageConfig('MOTOR', opts).rankingTemperature).toBe(1);
    // LETTER's tokenizer lr: ours on the short budgets, LETTER's released 1e-3 on the paper preset.
    expect(generativeStageConfig('LETTER', opts).letterLr).toBe(1e-4);
    expect(generativeStageConfig('LETTER', { ...opts, bench: false, paper: true }).letterLr).toBe(1e-3);
    expect(generativeStageConfig('TIGER-MM', opts).rqvae).toEqual(rqvae);
    // MOTOR ranks every test user with length-bucketed batches; the others' keys carry neither field.
    const motor = generativeStageConfig('MOTOR', opts);
    expect(motor.maxEvalUsers).toBeUndefined();
    expect(motor.motorBucketBatches).toBe(50);
    // --motor-epochs moves MOTOR's budget only: every other variant's config (its stage key) is unchanged.
    expect(generativeStageConfig('MOTOR', { ...opts, motorEpochs: 4 }).motorEpochs).toBe(4);
    for (const v of ['TIGER-MM', 'TIGER-MM-joint', 'LETTER'] as const)
      expect(generativeStageConfig(v, { ...opts, motorEpochs: 4 })).toEqual(generativeStageConfig(v, opts));
    expect(motor.motorEpochs).toBe(30);
    for (const v of ['TIGER-MM', 'LETTER'] as const) {
      expect(generativeStageConfig(v, opts).maxEvalUsers).toBe(1000);
      expect('motorBucketBatches' in generativeStageConfig(v, opts)).toBe(false);
    }
  });
});
