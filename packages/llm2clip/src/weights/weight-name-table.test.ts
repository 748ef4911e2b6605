import { describe, expect, it } from 'vitest';
import { WeightNameError } from '../errors.js';
import { CLIP_VISION_NAMES } from './clip-vision-names.js';
import { LLM2CLIP_ADAPTER_NAMES } from './text-adapter-names.js';
import { mapWeightNames } from './weight-name-table.js';

describe('weight-name tables', () => {
  it('map the three known adapter layouts onto adaptor.*', () => {
    const { mapped } = mapWeightNames(
      ['text_adapter.adaptor.0.fn.0.weight', 'text.text_adaptor.4.bias', 'adaptor.5.weight'],
      LLM2CLIP_ADAPTER_NAMES,
      'f',
    );
    expect([...mapped.values()]).toEqual(['adaptor.0.fn.0.weight', 'adaptor.4.bias', 'adaptor.5.weight']);
  });

  it('map CLIP vision names to themselves and skip the rest of a CLIPModel / LLM2CLIP file by name', () => {
    const keys = [
      'vision_model.encoder.layers.23.self_attn.q_proj.weight',
      'vision_model.pre_layrnorm.bias',
      'visual_projection.weight',
      'vision_model.embeddings.position_ids',
      'text_model.encoder.layers.0.mlp.fc1.weight',
      'text_projection.weight',
      'text_adapter.adaptor.0.ln.weight',
      'logit_scale',
    ];
    const { mapped, ignored } = mapWeightNames(keys, CLIP_VISION_NAMES, 'f');
    expect([...mapped.keys()]).toEqual(keys.slice(0, 3));
    expect([...mapped.values()]).toEqual(keys.slice(0, 3));
    expect([...ignored.keys()]).toEqual(keys.slice(3));
  });

  it('fail loudly on an unknown name, listing it', () => {
    const err = (() => {
      try {
        mapWeightNames(
          ['visual.trunk.blocks.0.attn.qkv.weight', 'vision_model.post_layernorm.weight'],
          CLIP_VISION_NAMES,
          'eva.safetensors',
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WeightNameError);
    expect((err as WeightNameError).tensors).toEqual(['visual.trunk.blocks.0.attn.qkv.weight']);
    expect((err as Error).message).toMatch(/^eva\.safetensors: 1 tensor name\(s\) match no rule/);
  });

  it('refuse two checkpoint tensors landing on one parameter', () => {
    expect(() =>
      mapWeightNames(
        ['text_adapter.adaptor.0.ln.weight', 'adaptor.0.ln.weight'],
        LLM2CLIP_ADAPTER_NAMES,
        'f',
      ),
    ).toThrow(/several tensors map to one parameter/);
  });
});
