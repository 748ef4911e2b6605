import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { ToyLlama } from '../__fixtures__/toy-llama.js';
import { applyLora } from '../apply.js';
import { loraKeyKind } from './keys.js';

describeBackends('loraKeyKind', () => {
  it('classifies the names LoraLinear registers, and nothing else', () => {
    expect(loraKeyKind('model.layers.0.mlp.up_proj.lora_B.weight')).toEqual({
      kind: 'adapter',
      module: 'model.layers.0.mlp.up_proj',
      matrix: 'lora_B',
    });
    expect(loraKeyKind('model.layers.0.mlp.up_proj.base_layer.bias')).toEqual({
      kind: 'base',
      module: 'model.layers.0.mlp.up_proj',
      param: 'bias',
      plainKey: 'model.layers.0.mlp.up_proj.bias',
    });
    expect(loraKeyKind('model.norm.weight')).toEqual({ kind: 'other' });
    expect(loraKeyKind('model.lora_A_like.weight')).toEqual({ kind: 'other' });
  });

  it('agrees with the keys of a real LoRA-wrapped model: each wrapped module has A, B and its base weight', () => {
    const model = new ToyLlama();
    const lora = applyLora(model, { r: 2, alpha: 4, targetModules: ['gate_proj'], seed: 0 });
    const kinds = [...model.namedParameters()].map(([n]) => [n, loraKeyKind(n)] as const);
    for (const name of lora.layers.keys()) {
      const of = kinds.filter(([, k]) => k.kind !== 'other' && k.module === name).map(([, k]) => k.kind);
      expect(of.sort(), name).toEqual(['adapter', 'adapter', 'base']);
    }
    model.dispose();
  });
});
