import { gelu, LayerNorm, Linear, Module, type Rng, ShapeError, tf } from '@mmesid/tensor';
import { type TextAdapterConfig, textAdapterConfig } from './text-adapter-config.js';

/** Row-wise L2 normalisation with the same epsilon as torch.nn.functional.normalize (1e-12). */
export function l2Normalize(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)));
}

/** `x + fn(ln(x))`, fn = Linear(d, e*d) -> GELU -> Linear(e*d, d), under PyTorch's Sequential names. */
class AdapterBlock extends Module {
  readonly ln: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(d: number, hidden: number, eps: number, init: { rng?: Rng; skipInit?: boolean }) {
    super();
    this.ln = this.setModule('ln', new LayerNorm(d, { eps }));
    const fn = this.setModule('fn', new Module());
    // Indices 0 and 3 as in nn.Sequential(Linear, GELU, Dropout, Linear): the checkpoint's names.
    this.fc1 = fn.setModule('0', new Linear(d, hidden, init));
    this.fc2 = fn.setModule('3', new Linear(hidden, d, init));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(x, this.fc2.forward(gelu(this.fc1.forward(this.ln.forward(x))))));
  }
}

/**
 * The LLM2CLIP text adapter: maps an LLM2Vec sentence vector (d = 4096 for Llama-3-8B) into CLIP's
 * space (1280-d for LLM2CLIP-Openai-L-14-336):
 *
 *   h0 = x / ||x||                       (optional, `normalizeInput`)
 *   h_{i+1} = h_i + W2 GELU(W1 LN_i(h_i) + b1) + b2      i = 0..numBlocks-1
 *   y = W_p LN(h_N) + b_p
 *
 * Module names mirror the PyTorch `nn.Sequential` of the LLM2CLIP code (`adaptor.0.ln`,
 * `adaptor.0.fn.0`, `adaptor.0.fn.3`, ..., `adaptor.4` = LayerNorm, `adaptor.5` = projection), so
 * a checkpoint maps onto it by a prefix (see `LLM2CLIP_ADAPTER_NAMES`).
 *
 * Use it on cached LLM2Vec vectors (cheap: ~0.3 GFLOP per item at paper scale).
 * Memory: `forward` returns a new tensor the caller disposes; `dispose()` frees the weights.
 *
 * @see LLM2CLIP (Huang et al., 2024), the text adapter; MME-SID Sec. 3.1 (textual embeddings)
 * @example
 * const adapter = new Llm2ClipTextAdapter({ inputDim: 64, projectionDim: 32, numBlocks: 2 }, { rng: new Rng(0) });
 * const y = adapter.forward(x); // [n, 32]
 */
export class Llm2ClipTextAdapter extends Module {
  readonly config: TextAdapterConfig;
  private readonly blocks: AdapterBlock[] = [];
  private readonly norm: LayerNorm;
  private readonly proj: Linear;

  constructor(config: Partial<TextAdapterConfig> = {}, init: { rng?: Rng; skipInit?: boolean } = {}) {
    super();
    this.config = textAdapterConfig(config);
    const c = this.config;
    const seq = this.setModule('adaptor', new Module());
    for (let i = 0; i < c.numBlocks; i++)
      this.blocks.push(
        seq.setModule(
          String(i),
          new AdapterBlock(c.inputDim, c.inputDim * c.expansionFactor, c.layerNormEps, init),
        ),
      );
    this.norm = seq.setModule(String(c.numBlocks), new LayerNorm(c.inputDim, { eps: c.layerNormEps }));
    this.proj = seq.setModule(
      String(c.numBlocks + 1),
      new Linear(c.inputDim, c.projectionDim, { ...init, bias: c.projectionBias }),
    );
  }

  /** [n, inputDim] -> [n, projectionDim]. */
  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.config.inputDim)
      throw new ShapeError(
        `Llm2ClipTextAdapter: expected input [n, ${this.config.inputDim}], got [${x.shape}]`,
      );
    return tf.tidy(() => {
      let h = this.config.normalizeInput ? l2Normalize(x) : x;
      for (const b of this.blocks) h = b.forward(h);
      const y = this.proj.forward(this.norm.forward(h));
      return this.config.normalizeOutput ? l2Normalize(y) : y;
    });
  }

  /** Multiply-adds per vector: 2 * e * d^2 per block plus d * projectionDim. */
  macsPerItem(): number {
    const c = this.config;
    return c.numBlocks * 2 * c.expansionFactor * c.inputDim * c.inputDim + c.inputDim * c.projectionDim;
  }
}
