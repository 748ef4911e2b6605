import { callChild, type LinearOptions, Module, RMSNorm, tf } from '@mmesid/tensor';
import { type AttentionContext, LlamaAttention } from './attention.js';
import type { LlamaConfig } from './config.js';
import { LlamaMLP } from './mlp.js';

/**
 * One pre-norm decoder block: h = x + self_attn(input_layernorm(x));
 * out = h + mlp(post_attention_layernorm(h)).
 */
export class LlamaDecoderLayer extends Module {
  constructor(cfg: LlamaConfig, init: LinearOptions) {
    super();
    this.setModule('self_attn', new LlamaAttention(cfg, init));
    this.setModule('mlp', new LlamaMLP(cfg, init));
    this.setModule('input_layernorm', new RMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
    this.setModule('post_attention_layernorm', new RMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
  }

  forward(x: tf.Tensor, ctx: AttentionContext): tf.Tensor {
    return tf.tidy(() => {
      const attn = this.childModule('self_attn') as LlamaAttention;
      const h = tf.add(x, attn.forward(callChild(this, 'input_layernorm', x), ctx));
      return tf.add(h, callChild(this, 'mlp', callChild(this, 'post_attention_layernorm', h)));
    });
  }
}
