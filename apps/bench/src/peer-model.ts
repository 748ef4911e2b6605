// What the PyTorch peer (peers/finetune.py) needs of an MME-SID model, shared by speed:finetune and
// speed:eval: seeded non-zero LoRA B (so the adapters take part in what both sides compute) and the
// weights as float32 safetensors beside the architecture the peer rebuilds.
import { join } from 'node:path';
import type { MmeSidModel } from '@mmesid/fusion';
import { Rng, saveSafetensors, tf } from '@mmesid/tensor';

/**
 * LoRA's B starts at zero, which would leave the adapters out of the forward pass both sides
 * compare: give every lora_B seeded N(0, 0.02^2) values (the cost is the same).
 */
export function seedLoraB(model: MmeSidModel, seed: string): void {
  const noise = new Rng(seed);
  for (const [name, p] of model.trainableParameters())
    if (name.endsWith('lora_B.weight'))
      p.assign(tf.tensor(noise.fillNormal(new Float32Array(p.size), 0, 0.02), p.shape, 'float32'));
}

/**
 * Writes `dir/model.safetensors` (every state tensor as float32, PyTorch's format tag) and returns
 * the `model` part of the peer's meta.json: the Llama's shape, the modalities, the SID shape, LoRA's
 * scaling and dropout and the fusion temperature.
 */
export async function writePeerModel(dir: string, model: MmeSidModel) {
  const sd = model.stateDict();
  const asF32: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(sd)) asF32[k] = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
  try {
    await saveSafetensors(join(dir, 'model.safetensors'), asF32, { metadata: { format: 'pt' } });
  } finally {
    for (const [k, t] of Object.entries(asF32)) if (t !== sd[k]) t.dispose();
  }
  const llm = model.llm.config;
  return {
    hidden: llm.hidden_size,
    layers: llm.num_hidden_layers,
    heads: llm.num_attention_heads,
    kvHeads: llm.num_key_value_heads,
    headDim: llm.head_dim,
    rmsEps: llm.rms_norm_eps,
    ropeTheta: llm.rope_theta,
    modalities: model.config.modalities,
    sidLevels: 4,
    sidCodebook: 256,
    loraScaling: model.config.lora.alpha / model.config.lora.r,
    loraDropout: model.config.lora.dropout,
    fusionTemperature: model.config.fusion.temperature,
  };
}
