/**
 * `LlamaConfig`: the subset of a Hugging Face `config.json` (`model_type: "llama"`) this package
 * implements, validated by a zod schema. Anything the forward pass would silently get wrong (another
 * activation, a RoPE type we do not implement, biases we do not load) is a `ConfigError`.
 */
import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/** Llama 3.1's frequency-dependent RoPE rescaling (`rope_type: "llama3"`). */
export const Llama3RopeScalingSchema = z.object({
  rope_type: z.literal('llama3'),
  factor: z.number().positive(),
  low_freq_factor: z.number().positive(),
  high_freq_factor: z.number().positive(),
  original_max_position_embeddings: z.number().int().positive(),
});

/** Position interpolation (`rope_type: "linear"`): every inverse frequency divided by `factor`. */
export const LinearRopeScalingSchema = z.object({
  rope_type: z.literal('linear'),
  factor: z.number().positive(),
});

/** The RoPE scalings we implement; `null` means plain RoPE. */
export const RopeScalingSchema = z.discriminatedUnion('rope_type', [
  Llama3RopeScalingSchema,
  LinearRopeScalingSchema,
]);
export type RopeScaling = z.infer<typeof RopeScalingSchema>;

const tokenIds = z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative()).min(1)]);

/**
 * The zod schema of the `config.json` fields we read (unknown fields are allowed and ignored).
 * {@link parseLlamaConfig} runs it and normalises the result into a {@link LlamaConfig}: `head_dim`
 * filled in, `rope_scaling` keyed by `rope_type` (the older `type` key is accepted), `eos_token_id` a list.
 */
export const LlamaConfigSchema = z
  .object({
    model_type: z.string().optional(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().nullish(),
    head_dim: z.number().int().positive().nullish(),
    vocab_size: z.number().int().positive(),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: RopeScalingSchema.nullable().default(null),
    max_position_embeddings: z.number().int().positive().default(2048),
    tie_word_embeddings: z.boolean().default(false),
    bos_token_id: z.number().int().nonnegative().nullable().default(1),
    eos_token_id: tokenIds.nullable().default(2),
    pad_token_id: z.number().int().nonnegative().nullable().optional(),
    hidden_act: z.literal('silu').default('silu'),
    attention_bias: z.literal(false).default(false),
    mlp_bias: z.literal(false).default(false),
  })
  .loose();

/**
 * A validated Llama config; build it with {@link parseLlamaConfig}. Field names are Hugging Face's so
 * a `config.json` maps one-to-one; fields we do not use are dropped.
 */
export interface LlamaConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** Grouped-query attention: query head h reads key/value head h / (heads / kv_heads). */
  num_key_value_heads: number;
  /** Per-head width; default hidden_size / num_attention_heads. */
  head_dim: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  /** Always a list (Llama 3 instruct configs list several); empty when the config has none. */
  eos_token_id: number[];
  pad_token_id?: number | null;
  hidden_act: 'silu';
  attention_bias: false;
  mlp_bias: false;
}

/** Defaults applied to fields a `config.json` may leave out (Hugging Face `LlamaConfig` defaults). */
export const LLAMA_CONFIG_DEFAULTS = {
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  rope_scaling: null,
  max_position_embeddings: 2048,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
} as const;

/** Fields whose unsupported values deserve a precise message rather than zod's generic one. */
function preflight(raw: Record<string, unknown>, where: string): void {
  if (raw.model_type !== undefined && raw.model_type !== 'llama')
    throw new ConfigError(
      `${where}: model_type "${String(raw.model_type)}" is not supported (expected "llama")`,
    );
  const act = raw.hidden_act;
  if (act !== undefined && act !== 'silu')
    throw new ConfigError(
      `${where}: hidden_act "${String(act)}" is not supported; Llama's SwiGLU MLP needs "silu"`,
    );
  for (const key of ['attention_bias', 'mlp_bias'] as const)
    if (raw[key] === true)
      throw new ConfigError(`${where}: ${key}: true is not supported (Llama projections have no bias)`);
  const rs = raw.rope_scaling;
  if (rs !== undefined && rs !== null) {
    if (typeof rs !== 'object') throw new ConfigError(`${where}: rope_scaling must be an object or null`);
    const r = rs as Record<string, unknown>;
    const type = r.rope_type ?? r.type;
    if (type !== 'llama3' && type !== 'linear' && type !== 'default')
      throw new ConfigError(
        `${where}: rope_scaling type "${String(type)}" is not supported (supported: "llama3", "linear", "default"; ` +
          'dynamic NTK, YaRN and LongRoPE are not implemented)',
      );
  }
}

/**
 * Validates a Hugging Face `config.json` object and returns the normalised config.
 *
 * @param where file name (or other label) for error messages
 * @throws ConfigError naming the file and each failing field
 * @example
 * const cfg = parseLlamaConfig(JSON.parse(await readFile('config.json', 'utf8')), 'config.json');
 * cfg.head_dim; // 8 for stories260k
 */
export function parseLlamaConfig(raw: unknown, where = 'config'): LlamaConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where}: expected a JSON object, got ${raw === null ? 'null' : typeof raw}`);
  const obj = { ...(raw as Record<string, unknown>) };
  preflight(obj, where);
  // Older configs spell the scaling kind `type`; `rope_type: "default"` means no scaling at all.
  if (obj.rope_scaling && typeof obj.rope_scaling === 'object') {
    const r = { ...(obj.rope_scaling as Record<string, unknown>) };
    if (r.rope_type === undefined && r.type !== undefined) r.rope_type = r.type;
    delete r.type;
    obj.rope_scaling = r.rope_type === 'default' ? null : r;
  }
  const parsed = LlamaConfigSchema.safeParse(obj);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${where}: invalid Llama config: ${issues}`);
  }
  const c = parsed.data;
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  if (heads % kvHeads !== 0)
    throw new ConfigError(
      `${where}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`,
    );
  let headDim = c.head_dim ?? undefined;
  if (headDim === undefined) {
    if (c.hidden_size % heads !== 0)
      throw new ConfigError(
        `${where}: hidden_size (${c.hidden_size}) is not divisible by num_attention_heads (${heads}); set head_dim`,
      );
    headDim = c.hidden_size / heads;
  }
  if (headDim % 2 !== 0)
    throw new ConfigError(`${where}: head_dim (${headDim}) must be even for rotary embeddings`);
  const rs = c.rope_scaling;
  if (rs?.rope_type === 'llama3' && rs.high_freq_factor <= rs.low_freq_factor)
    throw new ConfigError(`${where}: rope_scaling.high_freq_factor must exceed low_freq_factor`);
  const eos =
    c.eos_token_id === null ? [] : Array.isArray(c.eos_token_id) ? [...c.eos_token_id] : [c.eos_token_id];
  return {
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    vocab_size: c.vocab_size,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: c.rope_scaling,
    max_position_embeddings: c.max_position_embeddings,
    tie_word_embeddings: c.tie_word_embeddings,
    bos_token_id: c.bos_token_id,
    eos_token_id: eos,
    ...(c.pad_token_id !== undefined ? { pad_token_id: c.pad_token_id } : {}),
    hidden_act: c.hidden_act,
    attention_bias: c.attention_bias,
    mlp_bias: c.mlp_bias,
  };
}

/** Number of parameters a config implies (no buffers), counting a tied `lm_head` once. */
export function countLlamaParameters(cfg: LlamaConfig, opts: { separateLmHead?: boolean } = {}): number {
  const h = cfg.hidden_size;
  const q = cfg.num_attention_heads * cfg.head_dim;
  const kv = cfg.num_key_value_heads * cfg.head_dim;
  const perLayer = h * q + 2 * h * kv + q * h + 3 * h * cfg.intermediate_size + 2 * h;
  const lmHead = (opts.separateLmHead ?? !cfg.tie_word_embeddings) ? cfg.vocab_size * h : 0;
  return cfg.vocab_size * h + cfg.num_hidden_layers * perLayer + h + lmHead;
}
