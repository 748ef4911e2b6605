/**
 * llama2.c's legacy (version 0) checkpoint layout, as written by its `export.py --version 0` and used
 * by the tinyllamas releases (stories15M/42M/110M/260K.bin). Node only for the file reader; the parser
 * works on bytes.
 */
import { ConfigError, MmesidError, tf } from '@mmesid/tensor';
import { LlamaForCausalLM } from '../causal-lm.js';
import { type LlamaConfig, parseLlamaConfig } from '../config.js';

/** The seven int32 header fields of a legacy llama2.c checkpoint. */
export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Absolute value of the stored vocab size. */
  vocabSize: number;
  seqLen: number;
  /** A negative stored vocab size means the classifier has its own weights after the others. */
  sharedClassifier: boolean;
}

const MAGIC_V1 = 0x616b3432; // "ak42": the newer llama2.c export formats

/** Parses the 28-byte header. */
export function parseLlama2cHeader(bytes: Uint8Array, file = '<bytes>'): Llama2cHeader {
  if (bytes.byteLength < 28)
    throw new MmesidError(`${file}: ${bytes.byteLength} bytes is too short for a llama2.c header (28)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 28);
  if (view.getUint32(0, true) === MAGIC_V1)
    throw new MmesidError(
      `${file}: this is a versioned llama2.c export (magic "ak42"); only the legacy version-0 layout is supported`,
    );
  const f = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if ([dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen].some((v) => v <= 0) || vocab === 0)
    throw new MmesidError(`${file}: implausible llama2.c header (${f.join(', ')})`);
  return {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(vocab),
    seqLen,
    sharedClassifier: vocab > 0,
  };
}

/**
 * The Hugging Face config equivalent to a llama2.c header (run.c's fixed choices: RMSNorm eps 1e-5,
 * RoPE theta 10000, BOS 1, EOS 2).
 */
export function llama2cConfig(h: Llama2cHeader): LlamaConfig {
  return parseLlamaConfig(
    {
      model_type: 'llama',
      hidden_size: h.dim,
      intermediate_size: h.hiddenDim,
      num_hidden_layers: h.nLayers,
      num_attention_heads: h.nHeads,
      num_key_value_heads: h.nKvHeads,
      vocab_size: h.vocabSize,
      max_position_embeddings: h.seqLen,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: h.sharedClassifier,
      bos_token_id: 1,
      eos_token_id: 2,
      hidden_act: 'silu',
    },
    'llama2.c header',
  );
}

/**
 * Reorders the rows of a q or k projection [heads * head_dim, in] from llama2.c's interleaved RoPE
 * pairs (2i, 2i+1) to Hugging Face's rotate-half pairs (i, i + head_dim/2): within each head, the even
 * rows first, then the odd rows. This is `permute` of HF's `convert_llama_weights_to_hf.py`.
 */
export function permuteRopeRows(
  w: Float32Array,
  heads: number,
  headDim: number,
  inFeatures: number,
): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < headDim; j++) {
      const src = h * headDim + (j < half ? 2 * j : 2 * (j - half) + 1);
      const dst = h * headDim + j;
      out.set(w.subarray(src * inFeatures, (src + 1) * inFeatures), dst * inFeatures);
    }
  }
  return out;
}

/**
 * Builds a {@link LlamaForCausalLM} from the bytes of a legacy llama2.c checkpoint: the header, then
 * float32 arrays in this order: token embedding [vocab, dim]; attention RMSNorm weights [layers, dim];
 * wq, wk, wv, wo for all layers; FFN RMSNorm weights; w1 (gate_proj), w2 (down_proj), w3 (up_proj) for
 * all layers; the final norm; the unused RoPE tables (seq_len * head_dim floats); the classifier when
 * not shared. Every matrix is [out, in]. q and k rows are permuted to the rotate-half convention (see
 * {@link permuteRopeRows}), so the result computes exactly what run.c computes.
 */
export function llama2cFromBytes(bytes: Uint8Array, file = '<bytes>'): LlamaForCausalLM {
  const h = parseLlama2cHeader(bytes, file);
  const cfg = llama2cConfig(h);
  const headDim = cfg.head_dim;
  const kvDim = h.nKvHeads * headDim;
  const L = h.nLayers;
  const sizes = {
    emb: h.vocabSize * h.dim,
    rmsAtt: L * h.dim,
    wq: L * h.dim * h.dim,
    wk: L * h.dim * kvDim,
    wv: L * h.dim * kvDim,
    wo: L * h.dim * h.dim,
    rmsFfn: L * h.dim,
    w1: L * h.dim * h.hiddenDim,
    w2: L * h.hiddenDim * h.dim,
    w3: L * h.dim * h.hiddenDim,
    rmsFinal: h.dim,
    rope: h.seqLen * headDim,
  };
  const floats = Object.values(sizes).reduce((a, b) => a + b, 0) + (h.sharedClassifier ? 0 : sizes.emb);
  const expectedBytes = 28 + floats * 4;
  if (bytes.byteLength !== expectedBytes)
    throw new MmesidError(
      `${file}: ${bytes.byteLength} bytes, but a legacy llama2.c checkpoint with this header holds ${expectedBytes}`,
    );
  // Copy once into an aligned buffer (the header leaves the floats at offset 28 of the file).
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bytes.subarray(28, expectedBytes));
  let off = 0;
  const take = (n: number) => {
    const s = all.subarray(off, off + n);
    off += n;
    return s;
  };
  const emb = take(sizes.emb);
  const rmsAtt = take(sizes.rmsAtt);
  const wq = take(sizes.wq);
  const wk = take(sizes.wk);
  const wv = take(sizes.wv);
  const wo = take(sizes.wo);
  const rmsFfn = take(sizes.rmsFfn);
  const w1 = take(sizes.w1);
  const w2 = take(sizes.w2);
  const w3 = take(sizes.w3);
  const rmsFinal = take(sizes.rmsFinal);
  take(sizes.rope);
  const cls = h.sharedClassifier ? null : take(sizes.emb);

  const model = new LlamaForCausalLM(cfg, { skipInit: true });
  try {
    const params = model.stateDict() as Record<string, tf.Variable>;
    const put = (name: string, values: Float32Array) => {
      const p = params[name];
      if (!p) throw new ConfigError(`llama2c loader: the model has no parameter ${name}`);
      const t = tf.tensor(values, p.shape, 'float32');
      p.assign(t);
      t.dispose();
    };
    const layer = (arr: Float32Array, i: number, n: number) => arr.subarray(i * n, (i + 1) * n);
    put('model.embed_tokens.weight', emb);
    for (let i = 0; i < L; i++) {
      const p = `model.layers.${i}.`;
      put(`${p}input_layernorm.weight`, layer(rmsAtt, i, h.dim));
      put(
        `${p}self_attn.q_proj.weight`,
        permuteRopeRows(layer(wq, i, h.dim * h.dim), h.nHeads, headDim, h.dim),
      );
      put(
        `${p}self_attn.k_proj.weight`,
        permuteRopeRows(layer(wk, i, h.dim * kvDim), h.nKvHeads, headDim, h.dim),
      );
      put(`${p}self_attn.v_proj.weight`, layer(wv, i, h.dim * kvDim));
      put(`${p}self_attn.o_proj.weight`, layer(wo, i, h.dim * h.dim));
      put(`${p}post_attention_layernorm.weight`, layer(rmsFfn, i, h.dim));
      put(`${p}mlp.gate_proj.weight`, layer(w1, i, h.dim * h.hiddenDim));
      put(`${p}mlp.down_proj.weight`, layer(w2, i, h.hiddenDim * h.dim));
      put(`${p}mlp.up_proj.weight`, layer(w3, i, h.dim * h.hiddenDim));
    }
    put('model.norm.weight', rmsFinal);
    if (cls) put('lm_head.weight', cls);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Reads a legacy llama2.c `.bin` checkpoint (e.g. stories260K.bin) into a {@link LlamaForCausalLM}
 * in Hugging Face conventions; it gives the same logits as the safetensors conversion. Node only.
 *
 * @example
 * const lm = await loadLlama2c('stories260K.bin');
 */
export async function loadLlama2c(binPath: string): Promise<LlamaForCausalLM> {
  const { readFile } = await import('node:fs/promises');
  const bytes = new Uint8Array(await readFile(binPath));
  return llama2cFromBytes(bytes, binPath);
}
