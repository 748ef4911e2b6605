import { MmesidError, Rng, tf } from '@mmesid/tensor';
import type { LlamaForCausalLM } from './causal-lm.js';
import { KVCache } from './kv-cache.js';
import { sampleToken } from './sampling.js';

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Upper bound on new tokens (the stop token, if any, counts). */
  maxNewTokens: number;
  /** 0 (default) is greedy decoding; > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** Nucleus sampling threshold in (0, 1); 1 (default) disables it. Ignored when greedy. */
  topP?: number;
  /** Seed of the sampler (default 0). The same seed gives the same tokens on cpu and wasm. */
  seed?: number;
  /** Stop after producing any of these; default the config's `eos_token_id`; null never stops on eos. */
  eosTokenId?: number | number[] | null;
  /** Also stop when the model produces BOS (what llama2.c's run.c does; it ignores EOS). */
  stopOnBos?: boolean;
  /** Called with each new token id as soon as it is chosen. */
  onToken?: (id: number) => void;
}

/** Result of {@link generate}. */
export interface GenerateResult {
  /** The new tokens, including the stop token when generation stopped on one. */
  ids: number[];
  /** Prompt followed by `ids`. */
  sequence: number[];
  stopReason: 'eos' | 'bos' | 'length';
}

/**
 * Autoregressive decoding of one sequence with a KV cache: the prompt is run once (prefill), then one
 * token per step. Only the last position's logits are computed and read back (`await data()`, no
 * synchronous reads), so this works on every backend. Leaves no tensors behind.
 *
 * @example
 * const { ids } = await generate(model, [1, 403], { maxNewTokens: 20 }); // greedy
 */
export async function generate(
  model: LlamaForCausalLM,
  promptIds: number[],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  if (promptIds.length === 0)
    throw new MmesidError('generate: the prompt must hold at least one token (e.g. BOS)');
  if (!(opts.maxNewTokens >= 0))
    throw new MmesidError(`generate: maxNewTokens must be >= 0, got ${opts.maxNewTokens}`);
  const cfg = model.config;
  const temperature = opts.temperature ?? 0;
  if (!(temperature >= 0)) throw new MmesidError(`generate: temperature must be >= 0, got ${temperature}`);
  const topP = opts.topP ?? 1;
  const rng = new Rng(opts.seed ?? 0);
  const eosIn = opts.eosTokenId === undefined ? cfg.eos_token_id : opts.eosTokenId;
  const eos = new Set(eosIn === null ? [] : Array.isArray(eosIn) ? eosIn : [eosIn]);
  const bos = cfg.bos_token_id;
  const ids: number[] = [];
  let stopReason: GenerateResult['stopReason'] = 'length';
  const cache = new KVCache(cfg.num_hidden_layers);
  try {
    let feed = promptIds;
    while (ids.length < opts.maxNewTokens) {
      const out = model.forward({ inputIds: [feed], cache, logitsFor: 'last' });
      let logits: Float32Array;
      try {
        logits = (await out.logits!.data()) as Float32Array;
      } finally {
        tf.dispose([out.logits!, out.lastHiddenState]);
      }
      const next = sampleToken(logits, { temperature, topP, rng });
      ids.push(next);
      opts.onToken?.(next);
      if (eos.has(next)) {
        stopReason = 'eos';
        break;
      }
      if (opts.stopOnBos && next === bos) {
        stopReason = 'bos';
        break;
      }
      feed = [next];
    }
  } finally {
    cache.dispose();
  }
  return { ids, sequence: [...promptIds, ...ids], stopReason };
}
