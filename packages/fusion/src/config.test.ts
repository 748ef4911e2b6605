import { ConfigError } from '@mmesid/tensor';
import { describe, expect, it } from 'vitest';
import { FUSION_DEFAULTS, parseFusionConfig } from './config.js';
import { warmupOf } from './train.js';
import { parseTrainConfig, TRAIN_DEFAULTS } from './train-config.js';
import { VARIANT_NAMES, VARIANTS, variantConfig } from './variants.js';

describe('fusion config', () => {
  it('defaults to MME-SID as the authors run it', () => {
    expect(FUSION_DEFAULTS.modalities).toEqual(['collaborative', 'visual', 'text']);
    expect(FUSION_DEFAULTS.itemToken).toEqual({
      embeddings: 'projected',
      sid: true,
      idTable: 'none',
      combine: 'mlp',
    });
    expect(FUSION_DEFAULTS.sid.init).toBe('codebook');
    expect(FUSION_DEFAULTS.head).toBe('fusion');
    expect(FUSION_DEFAULTS.fusion.temperature).toBe(1e-3);
    expect(FUSION_DEFAULTS.loss.kind).toBe('ce');
    expect(FUSION_DEFAULTS.lora).toEqual({
      r: 8,
      alpha: 16,
      dropout: 0.05,
      targetModules: ['gate_proj', 'up_proj', 'down_proj'],
    });
  });

  it('rejects combinations that cannot work, naming the field', () => {
    expect(() => parseFusionConfig({ itemToken: { embeddings: 'none', sid: false } })).toThrow(/no part/);
    expect(() => parseFusionConfig({ itemToken: { embeddings: 'raw', combine: 'sum' } })).toThrow(
      ConfigError,
    );
    expect(() => parseFusionConfig({ itemToken: { embeddings: 'raw' }, head: 'fusion' })).toThrow(
      /projected/,
    );
    expect(() => parseFusionConfig({ sid: { source: 'random' } })).toThrow(/sid.init/);
    expect(() => parseFusionConfig({ modalities: ['text', 'text'] })).toThrow(/twice/);
    expect(() => parseFusionConfig({ modalities: ['a.b'] })).toThrow(/modalities.0/);
    expect(() => parseFusionConfig({ alignment: { weight: 1 }, modalities: ['text', 'visual'] })).toThrow(
      /collaborative/,
    );
    expect(() => parseFusionConfig({ fusion: { temperature: 0 } })).toThrow(/fusion.temperature/);
  });

  it('warm-up: a fraction of the run (at least 1 step) or a step count, never past the run', () => {
    expect(warmupOf({ warmupSteps: 100, warmupFraction: 100 / 37512 }, 37512)).toBe(100);
    expect(warmupOf({ warmupSteps: 100, warmupFraction: 100 / 37512 }, 300)).toBe(1);
    expect(warmupOf({ warmupSteps: 100, warmupFraction: 0.1 }, 300)).toBe(30);
    expect(warmupOf({ warmupSteps: 100 }, 300)).toBe(100);
    expect(warmupOf({ warmupSteps: 100 }, 40)).toBe(40);
  });

  it('train config: the authors settings, and micro-batches must divide the effective batch', () => {
    expect(TRAIN_DEFAULTS).toMatchObject({
      mode: 'paper',
      lr: 3e-4,
      warmupSteps: 100,
      effectiveBatch: 16,
      weightDecay: 0,
      clipNorm: 1,
      epochs: 4,
    });
    expect(() => parseTrainConfig({ microBatch: 3 })).toThrow(/divide/);
    expect(() => parseTrainConfig({ mode: 'fast' as never })).toThrow(/mode/);
  });
});

describe('VARIANTS', () => {
  it('names all twelve comparisons, each with a description and a paper reference', () => {
    expect(VARIANT_NAMES).toEqual([
      'E4SRec',
      'ME',
      'Concat',
      'Concat&MLP',
      'CTRL-MM',
      'MME-SID',
      'MME-SID-random',
      'MME-random',
      'SE-random',
      'SE-SID-MMD',
      'SE-SID-MSE',
      'w/o Fusion',
    ]);
    for (const name of VARIANT_NAMES) {
      expect(VARIANTS[name].name).toBe(name);
      expect(VARIANTS[name].description.length).toBeGreaterThan(20);
      expect(VARIANTS[name].paperRef.length).toBeGreaterThan(5);
      expect(() => variantConfig(name)).not.toThrow();
    }
  });

  it('defines each variant by the parts it changes', () => {
    const all = ['collaborative', 'text', 'visual'];
    const mme = variantConfig('MME-SID', {}, all);
    expect(mme.modalities).toEqual(['collaborative', 'text', 'visual']);
    expect(mme).toMatchObject({
      head: 'fusion',
      itemToken: { sid: true, combine: 'mlp', embeddings: 'projected' },
      sid: { init: 'codebook', source: 'export' },
    });
    expect(variantConfig('E4SRec', {}, all)).toMatchObject({
      modalities: ['collaborative'],
      head: 'target',
      itemToken: { sid: false, combine: 'sum' },
    });
    expect(variantConfig('ME', {}, all)).toMatchObject({
      modalities: ['collaborative'],
      head: 'target',
      itemToken: { embeddings: 'projected', sid: false, idTable: 'projected', combine: 'sum' },
    });
    expect(variantConfig('Concat', {}, all).itemToken).toEqual({
      embeddings: 'projected',
      sid: false,
      idTable: 'none',
      combine: 'linear',
    });
    expect(variantConfig('Concat', {}, all, { reading: 'alternative' }).itemToken.combine).toBe('tokens');
    expect(variantConfig('Concat&MLP', {}, all).itemToken).toEqual({
      embeddings: 'projected',
      sid: false,
      idTable: 'none',
      combine: 'mlp',
    });
    const ctrl = variantConfig('CTRL-MM', {}, all);
    expect(ctrl.itemToken).toEqual(variantConfig('Concat&MLP', {}, all).itemToken);
    expect(ctrl.alignment.weight).toBeGreaterThan(0);
    expect(variantConfig('Concat&MLP', {}, all).alignment.weight).toBe(0);
    expect(variantConfig('MME-SID-random', {}, all).sid).toMatchObject({ source: 'export', init: 'random' });
    expect(variantConfig('MME-random', {}, all)).toMatchObject({
      head: 'fusion',
      itemToken: { embeddings: 'projected', sid: false, idTable: 'direct', combine: 'mlp' },
    });
    expect(variantConfig('MME-random', {}, all, { reading: 'alternative' }).sid).toMatchObject({
      source: 'random',
      init: 'random',
    });
    expect(variantConfig('SE-random', {}, all)).toMatchObject({
      modalities: ['collaborative'],
      head: 'target',
      itemToken: { embeddings: 'none', sid: false, idTable: 'projected', idDim: 64 },
    });
    expect(VARIANTS['SE-SID-MSE'].sidReconstruction).toBe('mse');
    expect(variantConfig('SE-SID-MMD', {}, all).modalities).toEqual(['collaborative']);
    expect(variantConfig('w/o Fusion', {}, all)).toMatchObject({ head: 'target', itemToken: { sid: true } });
  });

  it('keeps overrides the variant does not set, and refuses unknown names or missing tables', () => {
    const c = variantConfig('MME-SID-random', { seed: 5, itemsAtEnd: true, sid: { projection: 'fixed' } });
    expect(c).toMatchObject({ seed: 5, itemsAtEnd: true, sid: { projection: 'fixed', init: 'random' } });
    expect(() => variantConfig('MME-SID++')).toThrow(/unknown variant "MME-SID\+\+"/);
    expect(() => variantConfig('E4SRec', {}, ['text'])).toThrow(/collaborative/);
    expect(() => variantConfig('E4SRec', {}, undefined, { reading: 'alternative' })).toThrow(
      /E4SRec has one reading/,
    );
  });
});
