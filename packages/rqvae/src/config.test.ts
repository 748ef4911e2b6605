import { ConfigError } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { AUTHORS_RQVAE, parseRqKMeansConfig, parseRqvaeConfig, RQVAE_DEFAULTS } from './config.js';
import { parseTrainOptions, TRAIN_DEFAULTS } from './train-options.js';

describe('configs', () => {
  it('fills the defaults and keeps the authors values documented', () => {
    const cfg = parseRqvaeConfig({ modalities: [{ name: 'collaborative', inputDim: 64 }] });
    expect(cfg.levels).toBe(4);
    expect(cfg.codebookSize).toBe(256);
    expect(cfg.reconstruction).toBe('mmd');
    expect(cfg.alignment).toBe('infonce');
    expect(cfg.sinkhornEpsilons).toEqual([0, 0, 0, 0.003]);
    expect(RQVAE_DEFAULTS.commitmentWeight).toBe(0.01);
    expect(
      parseRqvaeConfig({ ...AUTHORS_RQVAE, modalities: [{ name: 'collaborative', inputDim: 64 }] }).eDim,
    ).toBe(4096);
    expect(TRAIN_DEFAULTS).toMatchObject({ lr: 2e-4, weightDecay: 1e-4, batchSize: 1024, patience: 2000 });
  });

  it('rejects bad configs with a ConfigError naming the field', () => {
    expect(() => parseRqvaeConfig({ modalities: [] })).toThrow(ConfigError);
    expect(() => parseRqvaeConfig({ modalities: [{ name: 'a.b', inputDim: 4 }] })).toThrow(
      /modalities\.0\.name/,
    );
    expect(() => parseRqvaeConfig({ modalities: [{ name: 'x', inputDim: 4 }], eDim: 0 })).toThrow(/eDim/);
    expect(() =>
      parseRqvaeConfig({
        modalities: [
          { name: 'x', inputDim: 4 },
          { name: 'x', inputDim: 5 },
        ],
      }),
    ).toThrow(/listed twice/);
    expect(() => parseRqvaeConfig({ modalities: [{ name: 'x', inputDim: 4 }], levels: 3 })).toThrow(
      /sinkhornEpsilons has 4 entries/,
    );
    expect(() => parseRqvaeConfig({ modalities: [{ name: 'x', inputDim: 4 }], unknown: 1 } as never)).toThrow(
      ConfigError,
    );
    expect(() => parseTrainOptions({ lr: -1 })).toThrow(/lr/);
    expect(() => parseRqKMeansConfig({ modalities: [{ name: 'x', inputDim: 4 }], codebookSize: 1 })).toThrow(
      /codebookSize/,
    );
  });
});
