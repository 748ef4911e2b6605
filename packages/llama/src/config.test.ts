import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@mmesid/tensor';
import { sharedDir } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { countLlamaParameters, parseLlamaConfig } from './config.js';

/** Meta-Llama-3.1-8B-Instruct's config.json (the fields that matter; values as published). */
const LLAMA31_8B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 128256,
};

describe('parseLlamaConfig', () => {
  it('normalises Llama 3.1 8B: head_dim, eos list, llama3 scaling; 8.03B parameters', () => {
    const c = parseLlamaConfig(LLAMA31_8B);
    expect(c.head_dim).toBe(128);
    expect(c.num_key_value_heads).toBe(8);
    expect(c.eos_token_id).toEqual([128001, 128008, 128009]);
    expect(c.rope_scaling).toEqual({
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    });
    expect(countLlamaParameters(c)).toBe(8_030_261_248);
  });

  it('reads stories260k: 260,032 parameters, tied, single eos', () => {
    const s = sharedDir('models', 'stories260k');
    if (!s.path) return;
    const c = parseLlamaConfig(JSON.parse(readFileSync(join(s.path, 'config.json'), 'utf8')));
    expect(c).toMatchObject({
      head_dim: 8,
      num_key_value_heads: 4,
      tie_word_embeddings: true,
      eos_token_id: [2],
      rope_scaling: null,
    });
    expect(countLlamaParameters(c)).toBe(260_032);
  });

  it('accepts the older `type` key, linear scaling and rope_type "default"; fills defaults', () => {
    const base = {
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      vocab_size: 100,
    };
    expect(parseLlamaConfig({ ...base, rope_scaling: { type: 'linear', factor: 2 } }).rope_scaling).toEqual({
      rope_type: 'linear',
      factor: 2,
    });
    const d = parseLlamaConfig({ ...base, rope_scaling: { rope_type: 'default' } });
    expect(d.rope_scaling).toBeNull();
    expect(d).toMatchObject({
      head_dim: 16,
      num_key_value_heads: 4,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      eos_token_id: [2],
    });
    expect(parseLlamaConfig({ ...base, head_dim: null, num_key_value_heads: null })).toMatchObject({
      head_dim: 16,
      num_key_value_heads: 4,
    });
  });

  it.each([
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ rope_scaling: { rope_type: 'dynamic', factor: 2 } }, /rope_scaling type "dynamic" is not supported/],
    [{ rope_scaling: { rope_type: 'yarn', factor: 2 } }, /"yarn" is not supported/],
    [{ attention_bias: true }, /attention_bias: true is not supported/],
    [{ num_key_value_heads: 3 }, /multiple of num_key_value_heads/],
    [{ model_type: 'mistral' }, /model_type "mistral"/],
    [{ hidden_size: -1 }, /hidden_size/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /low_freq_factor/],
  ])('rejects %j with a ConfigError', (patch, msg) => {
    const base = {
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      vocab_size: 100,
    };
    const run = () => parseLlamaConfig({ ...base, ...patch }, 'x/config.json');
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(msg);
    expect(run).toThrow(/x\/config\.json/);
  });
});
