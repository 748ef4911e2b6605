import { HfTokenizer, type Llama2cTokenizer } from '@mmesid/llama';
import { ConfigError } from '@mmesid/tensor';

/**
 * A prompt with a hole for the item tokens: `prefix` text ids, then one token per history item
 * (spliced in as input embeddings), then `suffix` text ids (the response header).
 */
export interface PromptTemplate {
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
  /** The text the ids were encoded from, with `{items}` where the item tokens go. */
  readonly text: string;
  /** Which rendering produced it (see {@link PromptStyle}). */
  readonly style: PromptStyle;
}

/** The system message of the authors' Llama 3 prompt (`dataset/llama3.json`). */
export const AUTHORS_SYSTEM = 'You are a helpful AI assistant for recommendations';
/** The instruction of the authors' prompt (`dataset/llama3.json`, `utils/prompter.py`). */
export const AUTHORS_INSTRUCTION =
  "Given the user's purchase history, predict next possible item to be purchased.";

/**
 * The authors' Llama 3 prompt as written in their template file `dataset/llama3.json` and README:
 * `prompt_input`, the item tokens, then `response_split`.
 */
export const AUTHORS_LLAMA3_TEMPLATE = Object.freeze({
  prefix: `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${AUTHORS_SYSTEM}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n${AUTHORS_INSTRUCTION}`,
  suffix: '<|eot_id|><|start_header_id|>assistant<|end_header_id|>',
});

/**
 * What the authors' code actually feeds: `utils/prompter.py` overwrites `prompt_input` with
 * `"<|begin_of_text|>{{ Given the user's ..."`, which Python's `str.format` turns into a single `{`,
 * so the trained prompt has no system message and a stray brace. Kept for exact replication.
 */
export const AUTHORS_CODE_PROMPT = Object.freeze({
  prefix: `<|begin_of_text|>{ ${AUTHORS_INSTRUCTION}`,
  suffix: '<|eot_id|><|start_header_id|>assistant<|end_header_id|>',
});

/**
 * - `'authors-template'`: {@link AUTHORS_LLAMA3_TEMPLATE} (HF tokenizers; the default for them).
 * - `'authors-code'`: {@link AUTHORS_CODE_PROMPT} (HF tokenizers).
 * - `'chat-template'`: the tokenizer's own Jinja chat template with the authors' system message and
 *   instruction, and the generation prompt as the response header (HF tokenizers).
 * - `'plain'`: the same content as plain text, `System: ...\nUser: ... {items}\nAssistant:`, with BOS,
 *   for tokenizers without Llama 3's special tokens (llama2.c's; the default for them). This rendering
 *   is ours, not the authors'.
 * - `'minimal'`: `History:{items} Next:` with BOS. Ours, for CPU budgets: with stories260k's 512-token
 *   vocabulary the plain prompt is ~100 tokens, which dominates the cost of short histories.
 */
export type PromptStyle = 'authors-template' | 'authors-code' | 'chat-template' | 'plain' | 'minimal';

/** Options of {@link buildPrompt}. */
export interface BuildPromptOptions {
  style?: PromptStyle;
  /** Drop the response header so the item tokens end the prompt (needed by the efficient training mode). */
  itemsAtEnd?: boolean;
}

const MARK = '<<MMESID_ITEMS>>';

/**
 * Encodes the MME-SID prompt for a tokenizer. Prefix and suffix are encoded separately (as the
 * authors tokenise `instruction_text[0]` and `[1]` separately), without adding special tokens
 * beyond those written in the text.
 *
 * @throws ConfigError for a style the tokenizer cannot render
 * @example
 * const tok = await Llama2cTokenizer.load('/models/stories260k/tokenizer.llama2c.json');
 * const prompt = buildPrompt(tok); // style 'plain'
 * const llama3 = buildPrompt(await HfTokenizer.fromDir('/models/Meta-Llama-3-8B-Instruct')); // 'authors-template'
 */
export function buildPrompt(
  tokenizer: Llama2cTokenizer | HfTokenizer,
  opts: BuildPromptOptions = {},
): PromptTemplate {
  const hf = tokenizer instanceof HfTokenizer;
  const style = opts.style ?? (hf ? 'authors-template' : 'plain');
  let prefix: string;
  let suffix: string;
  switch (style) {
    case 'authors-template':
      ({ prefix, suffix } = AUTHORS_LLAMA3_TEMPLATE);
      break;
    case 'authors-code':
      ({ prefix, suffix } = AUTHORS_CODE_PROMPT);
      break;
    case 'chat-template': {
      if (!hf)
        throw new ConfigError(
          'buildPrompt: style "chat-template" needs a Hugging Face tokenizer with a chat template',
        );
      const text = tokenizer.applyChatTemplate(
        [
          { role: 'system', content: AUTHORS_SYSTEM },
          { role: 'user', content: `${AUTHORS_INSTRUCTION} ${MARK}` },
        ],
        { addGenerationPrompt: true },
      );
      const at = text.indexOf(MARK);
      if (at < 0) throw new ConfigError('buildPrompt: the chat template dropped the item placeholder');
      prefix = text.slice(0, at).trimEnd();
      suffix = text.slice(at + MARK.length);
      break;
    }
    case 'plain':
      prefix = `System: ${AUTHORS_SYSTEM}\nUser: ${AUTHORS_INSTRUCTION}`;
      suffix = '\nAssistant:';
      break;
    case 'minimal':
      prefix = 'History:';
      suffix = ' Next:';
      break;
    default:
      throw new ConfigError(`buildPrompt: unknown style "${String(style)}"`);
  }
  if (opts.itemsAtEnd) suffix = '';
  const encode = (s: string, first: boolean): number[] => {
    if (s === '') return [];
    // Plain renderings get the tokenizer's own BOS; the Llama 3 renderings write <|begin_of_text|> themselves.
    if (hf)
      return tokenizer.encode(s, { addSpecialTokens: first && (style === 'plain' || style === 'minimal') });
    if (style !== 'plain' && style !== 'minimal')
      throw new ConfigError(
        `buildPrompt: style "${style}" needs a Hugging Face tokenizer (Llama 3 special tokens)`,
      );
    return (tokenizer as Llama2cTokenizer).encode(s, { bos: first });
  };
  return {
    prefix: encode(prefix, true),
    suffix: encode(suffix, false),
    text: `${prefix}{items}${suffix}`,
    style,
  };
}

/** A prompt from ids you already have (e.g. read back from an exported run). */
export function promptFromIds(
  prefix: readonly number[],
  suffix: readonly number[],
  text = '',
  style: PromptStyle = 'plain',
): PromptTemplate {
  for (const id of [...prefix, ...suffix])
    if (!Number.isInteger(id) || id < 0)
      throw new ConfigError(`promptFromIds: token id ${id} is not a non-negative integer`);
  return { prefix: [...prefix], suffix: [...suffix], text, style };
}
