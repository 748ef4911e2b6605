/**
 * A two-layer model shaped like Hugging Face's LlamaForCausalLM (module names `model.layers.N.mlp.gate_proj`,
 * `model.layers.N.self_attn.q_proj`, `lm_head`, ...) for the tests of this package only. It looks its
 * children up by name at call time, as @mmesid/llama does, so `replaceModule` takes effect.
 */
import { callChild, Linear, Module, RMSNorm, Rng, silu, tf } from '@mmesid/tensor';

const call = callChild;

class ToyMLP extends Module {
  constructor(h: number, i: number, rng: Rng) {
    super();
    this.setModule('gate_proj', new Linear(h, i, { bias: false, rng }));
    this.setModule('up_proj', new Linear(h, i, { bias: false, rng }));
    this.setModule('down_proj', new Linear(i, h, { bias: false, rng }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() =>
      call(this, 'down_proj', tf.mul(silu(call(this, 'gate_proj', x)), call(this, 'up_proj', x))),
    );
  }
}

class ToyAttn extends Module {
  constructor(h: number, rng: Rng) {
    super();
    this.setModule('q_proj', new Linear(h, h, { bias: false, rng }));
    this.setModule('v_proj', new Linear(h, h, { bias: false, rng }));
  }

  // Not attention: a token-wise stand-in with the same module names.
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.tanh(call(this, 'q_proj', x)), call(this, 'v_proj', x)));
  }
}

class ToyLayer extends Module {
  constructor(h: number, i: number, rng: Rng) {
    super();
    this.setModule('self_attn', new ToyAttn(h, rng));
    this.setModule('mlp', new ToyMLP(h, i, rng));
    this.setModule('post_attention_layernorm', new RMSNorm(h));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const a = tf.add(x, call(this, 'self_attn', x));
      return tf.add(a, call(this, 'mlp', call(this, 'post_attention_layernorm', a)));
    });
  }
}

/** hidden 8, intermediate 12, 2 layers, vocab 10 by default. */
export class ToyLlama extends Module {
  constructor(
    readonly hidden = 8,
    readonly intermediate = 12,
    readonly numLayers = 2,
    readonly vocab = 10,
    seed = 7,
  ) {
    super();
    const rng = new Rng(seed);
    const inner = new Module();
    const layers = new Module();
    for (let l = 0; l < numLayers; l++) layers.setModule(String(l), new ToyLayer(hidden, intermediate, rng));
    inner.setModule('layers', layers);
    inner.setModule('norm', new RMSNorm(hidden));
    this.setModule('model', inner);
    this.setModule('lm_head', new Linear(hidden, vocab, { bias: false, rng }));
  }

  /** x [batch, seq, hidden] -> logits [batch, seq, vocab]. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = x;
      for (let l = 0; l < this.numLayers; l++) h = call(this.getModule('model.layers')!, String(l), h);
      return call(this, 'lm_head', call(this.getModule('model')!, 'norm', h));
    });
  }
}

/** A deterministic input in [-1, 1). */
export function toyInput(shape: number[], seed = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fillUniform(new Float32Array(n), -1, 1), shape);
}

/** Fills every lora_B (and optionally lora_A) with seeded random values, so adapters do something. */
export function randomizeAdapters(model: Module, seed = 3, std = 0.5): void {
  const rng = new Rng(seed);
  for (const [name, p] of model.namedParameters())
    if (name.endsWith('lora_B.weight'))
      tf.tidy(() => p.assign(tf.tensor(rng.fillNormal(new Float32Array(p.size), 0, std), p.shape)));
}
