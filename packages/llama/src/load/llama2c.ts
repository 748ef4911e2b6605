/**
 * llama2.c's legacy (version 0) checkpoint layout, as written by its `export.py --version 0` and used
 * by the tinyllamas releases (stories15M/42M/110M/260K.bin). Node only for the file reader; the parser
 * works on bytes.
 */
import { ConfigError, MmesidError, tf } from '@mmesid/tensor';
import { LlamaForCausalLM } from '../causal-lm.js';
import { type LlamaConfig, parseLlamaConfig } from '../config.js';
import { LlamaModel } from '../llama-model.js';

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
 * The weights of a legacy llama2.c checkpoint, by Hugging Face parameter name (without the `model.`
 * prefix of `LlamaForCausalLM`; the classifier, when not shared, as `lm_head.weight`). The layout is
 * the header, then float32 arrays in this order: token embedding [vocab, dim]; attention RMSNorm
 * weights [layers, dim]; wq, wk, wv, wo for all layers; FFN RMSNorm weights; w1 (gate_proj), w2
 * (down_proj), w3 (up_proj) for all layers; the final norm; the unused RoPE tables (seq_len * head_dim
 * floats); the classifier when not shared. Every matrix is [out, in]. q and k rows are permuted to the
 * rotate-half convention (see {@link permuteRopeRows}), so a model built from them computes exactly what
 * run.c computes.
 */
export function llama2cWeights(
  bytes: Uint8Array,
  file = '<bytes>',
): { header: Llama2cHeader; config: LlamaConfig; weights: Map<string, Float32Array> } {
  const h = parseLlama2cHeader(bytes, file);
  const cfg = llama2cConfig(h);
  const headDim = cfg.head_dim;
  if (h.dim % h.nHeads !== 0 || h.nHeads % h.nKvHeads !== 0 || headDim % 2 !== 0)
    throw new MmesidError(
      `${file}: header dim ${h.dim}, n_heads ${h.nHeads}, n_kv_heads ${h.nKvHeads} do not give whole, even heads`,
    );
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

  const weights = new Map<string, Float32Array>();
  const layer = (arr: Float32Array, i: number, n: number) => arr.subarray(i * n, (i + 1) * n);
  weights.set('embed_tokens.weight', emb);
  for (let i = 0; i < L; i++) {
    const p = `layers.${i}.`;
    weights.set(`${p}input_layernorm.weight`, layer(rmsAtt, i, h.dim));
    weights.set(
      `${p}self_attn.q_proj.weight`,
      permuteRopeRows(layer(wq, i, h.dim * h.dim), h.nHeads, headDim, h.dim),
    );
    weights.set(
      `${p}self_attn.k_proj.weight`,
      permuteRopeRows(layer(wk, i, h.dim * kvDim), h.nKvHeads, headDim, h.dim),
    );
    weights.set(`${p}self_attn.v_proj.weight`, layer(wv, i, h.dim * kvDim));
    weights.set(`${p}self_attn.o_proj.weight`, layer(wo, i, h.dim * h.dim));
    weights.set(`${p}post_attention_layernorm.weight`, layer(rmsFfn, i, h.dim));
    weights.set(`${p}mlp.gate_proj.weight`, layer(w1, i, h.dim * h.hiddenDim));
    weights.set(`${p}mlp.down_proj.weight`, layer(w2, i, h.hiddenDim * h.dim));
    weights.set(`${p}mlp.up_proj.weight`, layer(w3, i, h.dim * h.hiddenDim));
  }
  weights.set('norm.weight', rmsFinal);
  if (cls) weights.set('lm_head.weight', cls);
  return { header: h, config: cfg, weights };
}

/** Assigns each weight to the parameter of the same name (after `prefix`); every parameter must get one. */
function assignWeights(
  model: { stateDict(): Record<string, tf.Tensor> },
  weights: Map<string, Float32Array>,
  prefix: (name: string) => string | null,
  file: string,
): void {
  const params = model.stateDict() as Record<string, tf.Variable>;
  const done = new Set<string>();
  for (const [key, values] of weights) {
    const name = prefix(key);
    if (name === null) continue;
    const p = params[name];
    if (!p) throw new ConfigError(`${file}: the model has no parameter ${name}`);
    const t = tf.tensor(values, p.shape, 'float32');
    p.assign(t);
    t.dispose();
    done.add(name);
  }
  const missing = Object.keys(params).filter((k) => !done.has(k));
  if (missing.length) throw new ConfigError(`${file}: no weights for ${missing.join(', ')}`);
}

/**
 * Builds a {@link LlamaForCausalLM} from the bytes of a legacy llama2.c checkpoint (see
 * {@link llama2cWeights} for the layout). A positive stored vocab size means the classifier is the
 * token embedding (tied, no `lm_head`).
 */
export function llama2cFromBytes(
  bytes: Uint8Array,
  file = '<bytes>',
  opts: { causal?: boolean } = {},
): LlamaForCausalLM {
  const { header, config, weights } = llama2cWeights(bytes, file);
  const model = new LlamaForCausalLM(config, { skipInit: true, lmHead: !header.sharedClassifier, ...opts });
  try {
    assignWeights(model, weights, (k) => (k === 'lm_head.weight' ? k : `model.${k}`), file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The decoder stack alone ({@link LlamaModel}) from a legacy llama2.c checkpoint; the classifier is dropped. */
export function llama2cModelFromBytes(
  bytes: Uint8Array,
  file = '<bytes>',
  opts: { causal?: boolean } = {},
): LlamaModel {
  const { config, weights } = llama2cWeights(bytes, file);
  const model = new LlamaModel(config, { skipInit: true, ...opts });
  try {
    assignWeights(model, weights, (k) => (k === 'lm_head.weight' ? null : k), file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * The legacy llama2.c checkpoint of a folder that has no `config.json`: its one `*.bin` file whose
 * name does not start with `tok` (llama2.c's tokenizer files are `tok<N>.bin` / `tokenizer.bin`), or
 * undefined when there is none. Two candidates are an error naming both. Node only.
 */
export async function findLlama2cCheckpoint(dir: string): Promise<string | undefined> {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const bins = names.filter((n) => n.endsWith('.bin') && !n.startsWith('tok')).sort();
  if (bins.length > 1)
    throw new ConfigError(
      `${dir}: ${bins.length} candidate llama2.c checkpoints (${bins.join(', ')}); keep one, or add a config.json`,
    );
  return bins.length ? join(dir, bins[0]!) : undefined;
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
