import { callChild, Linear, Module, tf } from '@mmesid/tensor';
import type { LlamaConfig } from './config.js';
import { type GenerateOptions, type GenerateResult, generate } from './generate.js';
import {
  type LlamaForwardOptions,
  type LlamaInitOptions,
  LlamaModel,
  type LlamaModelOutput,
} from './llama-model.js';

/** Options of {@link LlamaForCausalLM}'s constructor. */
export interface LlamaForCausalLMOptions extends LlamaInitOptions {
  /**
   * Give the model its own `lm_head` even though `tie_word_embeddings` is set (a checkpoint that stores
   * `lm_head.weight` anyway, like stories260k's). Default: an `lm_head` exactly when not tied.
   */
  lmHead?: boolean;
}

/** Inputs of {@link LlamaForCausalLM.forward}. */
export interface CausalLMForwardOptions extends LlamaForwardOptions {
  /** Compute logits (default true). */
  returnLogits?: boolean;
  /** Logits for every position (default) or only the last one ([B, 1, vocab]). */
  logitsFor?: 'all' | 'last';
}

/** Outputs of {@link LlamaForCausalLM.forward}; every tensor belongs to the caller. */
export interface CausalLMOutput extends LlamaModelOutput {
  /** [B, T, vocab] (or [B, 1, vocab] with `logitsFor: 'last'`). */
  logits?: tf.Tensor;
}

/**
 * A Llama language model (Hugging Face `LlamaForCausalLM`): `model` (a {@link LlamaModel}) plus
 * `lm_head`, or, with tied embeddings and no `lm_head`, logits against `model.embed_tokens.weight`.
 * Parameter names are the checkpoint's (`model.layers.0.self_attn.q_proj.weight`, `lm_head.weight`).
 *
 * @example
 * const lm = await fromPretrained('/models/stories260k');
 * const out = lm.forward({ inputIds: [[1, 403, 407]] });
 * out.logits!.shape; // [1, 3, 512]
 * tf.dispose([out.logits!, out.lastHiddenState]);
 */
export class LlamaForCausalLM extends Module {
  constructor(
    readonly config: LlamaConfig,
    opts: LlamaForCausalLMOptions = {},
  ) {
    super();
    this.setModule('model', new LlamaModel(config, opts));
    if (opts.lmHead ?? !config.tie_word_embeddings) {
      const init = opts.skipInit ? { skipInit: true } : opts.rng ? { rng: opts.rng } : {};
      this.setModule('lm_head', new Linear(config.hidden_size, config.vocab_size, { ...init, bias: false }));
    }
  }

  /** The decoder stack (`model`). */
  get model(): LlamaModel {
    return this.childModule('model') as LlamaModel;
  }

  /** Whether logits come from a separate `lm_head` (false: from the tied embedding table). */
  get hasLmHead(): boolean {
    return this.childModule('lm_head') !== undefined;
  }

  /** See {@link LlamaModel.embedTokens}. */
  embedTokens(ids: Parameters<LlamaModel['embedTokens']>[0]): tf.Tensor {
    return this.model.embedTokens(ids);
  }

  /** Logits for hidden states [..., hidden] -> [..., vocab]. The caller owns the result. */
  logits(hidden: tf.Tensor): tf.Tensor {
    if (this.hasLmHead) return callChild(this, 'lm_head', hidden);
    return tf.tidy(() => {
      const w = this.model.embedWeight;
      const lead = hidden.shape.slice(0, -1);
      const flat = tf.reshape(hidden, [-1, this.config.hidden_size]) as tf.Tensor2D;
      return tf.reshape(tf.matMul(flat, w, false, true), [...lead, this.config.vocab_size]);
    });
  }

  forward(opts: CausalLMForwardOptions): CausalLMOutput {
    const out: CausalLMOutput = this.model.forward(opts);
    if (opts.returnLogits ?? true) {
      out.logits = tf.tidy(() => {
        const h = out.lastHiddenState;
        const T = h.shape[1]!;
        const src = opts.logitsFor === 'last' ? tf.slice(h, [0, T - 1, 0], [-1, 1, -1]) : h;
        return this.logits(src);
      });
    }
    return out;
  }

  /** Greedy or sampled decoding of one prompt; see {@link generate}. */
  generate(promptIds: number[], opts: GenerateOptions): Promise<GenerateResult> {
    return generate(this, promptIds, opts);
  }
}
