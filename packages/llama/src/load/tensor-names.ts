import type { LlamaConfig } from '../config.js';

/**
 * Every parameter of a Llama and its shape, by Hugging Face name, computed from the config alone (so a
 * loader can check a checkpoint and the memory it needs before allocating anything).
 *
 * @param opts.prefix "model." for `LlamaForCausalLM` (default), "" for a bare `LlamaModel`
 * @param opts.lmHead include `lm_head.weight` (only meaningful with the "model." prefix)
 */
export function llamaParameterShapes(
  cfg: LlamaConfig,
  opts: { prefix?: string; lmHead?: boolean } = {},
): Map<string, number[]> {
  const p = opts.prefix ?? 'model.';
  const h = cfg.hidden_size;
  const q = cfg.num_attention_heads * cfg.head_dim;
  const kv = cfg.num_key_value_heads * cfg.head_dim;
  const inter = cfg.intermediate_size;
  const out = new Map<string, number[]>();
  out.set(`${p}embed_tokens.weight`, [cfg.vocab_size, h]);
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const l = `${p}layers.${i}.`;
    out.set(`${l}self_attn.q_proj.weight`, [q, h]);
    out.set(`${l}self_attn.k_proj.weight`, [kv, h]);
    out.set(`${l}self_attn.v_proj.weight`, [kv, h]);
    out.set(`${l}self_attn.o_proj.weight`, [h, q]);
    out.set(`${l}mlp.gate_proj.weight`, [inter, h]);
    out.set(`${l}mlp.up_proj.weight`, [inter, h]);
    out.set(`${l}mlp.down_proj.weight`, [h, inter]);
    out.set(`${l}input_layernorm.weight`, [h]);
    out.set(`${l}post_attention_layernorm.weight`, [h]);
  }
  out.set(`${p}norm.weight`, [h]);
  if (opts.lmHead) out.set('lm_head.weight', [cfg.vocab_size, h]);
  return out;
}
