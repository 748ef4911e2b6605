import { callChild, Linear, type LinearOptions, Module, swiglu, tf } from '@mmesid/tensor';
import type { LlamaConfig } from './config.js';

/**
 * Llama's SwiGLU feed-forward block (`mlp`): down_proj(silu(gate_proj(x)) * up_proj(x)), no biases.
 * These three projections are the ones MME-SID adapts with LoRA (r = 8, alpha = 16).
 */
export class LlamaMLP extends Module {
  constructor(cfg: LlamaConfig, init: LinearOptions) {
    super();
    const h = cfg.hidden_size;
    const i = cfg.intermediate_size;
    const opts = { ...init, bias: false };
    this.setModule('gate_proj', new Linear(h, i, opts));
    this.setModule('up_proj', new Linear(h, i, opts));
    this.setModule('down_proj', new Linear(i, h, opts));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // silu(gate) * up as one kernel each way on cpu/wasm (@mmesid/tensor's swiglu).
      const gated = swiglu(callChild(this, 'gate_proj', x), callChild(this, 'up_proj', x));
      return callChild(this, 'down_proj', gated);
    });
  }
}
