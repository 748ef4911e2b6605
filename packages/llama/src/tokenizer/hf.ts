/**
 * Hugging Face `tokenizer.json` tokenizers (Llama 3's byte-level BPE and others) through the
 * maintained `@huggingface/tokenizers` library, with chat templates rendered by `@huggingface/jinja`
 * the way `transformers`' `apply_chat_template` does.
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { MmesidError, type ModelSource, type ModelSourceOptions, modelFiles } from '@mmesid/tensor';
import {
  checkTokenizerConfig,
  checkTokenizerJson,
  parseTokenizerFile,
  TokenizerFileError,
} from './hf-check.js';

/** One chat message, as chat templates expect it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

/** Options of {@link HfTokenizer.applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** Append the header that asks the model to answer (Llama 3: `<|start_header_id|>assistant<|end_header_id|>\n\n`). */
  addGenerationPrompt?: boolean;
  /** Use this template instead of the one in tokenizer_config.json. */
  chatTemplate?: string;
  /** Extra variables for the template. */
  extra?: Record<string, unknown>;
}

type TokenField = string | { content?: string } | null | undefined;

function tokenText(t: TokenField): string | undefined {
  if (t === null || t === undefined) return undefined;
  return typeof t === 'string' ? t : t.content;
}

/**
 * A Hugging Face fast tokenizer from its two JSON files.
 *
 * Gotchas: `encode(text)` adds special tokens only as `tokenizer.json`'s post-processor says (the
 * original Llama 3 release adds none; later revisions prepend `<|begin_of_text|>`), exactly as
 * `tokenizer(text)` does in Python. A chat template already contains `<|begin_of_text|>`, so its
 * output is encoded without adding special tokens, as `apply_chat_template` does.
 *
 * @example
 * const tok = await HfTokenizer.fromDir('/models/Meta-Llama-3-8B-Instruct');
 * const ids = tok.applyChatTemplateIds([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
 */
export class HfTokenizer {
  private readonly tok: Tokenizer;
  private template: Template | null = null;

  /**
   * @param names how the two files are named in error messages (default `tokenizer.json`,
   *   `tokenizer_config.json`; {@link fromDir} passes their paths or URLs)
   * @throws {TokenizerFileError} naming the file and the JSON path of a malformed field
   */
  constructor(
    readonly tokenizerJson: Record<string, unknown>,
    readonly tokenizerConfig: Record<string, unknown> = {},
    names: { tokenizerJson?: string; tokenizerConfig?: string } = {},
  ) {
    const tjName = names.tokenizerJson ?? 'tokenizer.json';
    checkTokenizerJson(tokenizerJson, tjName);
    checkTokenizerConfig(tokenizerConfig, names.tokenizerConfig ?? 'tokenizer_config.json');
    try {
      this.tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new TokenizerFileError(
        tjName,
        '',
        `@huggingface/tokenizers could not build the tokenizer: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Reads `tokenizer.json` and (if present) `tokenizer_config.json` from a model folder: a local
   * directory (Node), a base URL (fetched; `onProgress`, Cache API) or the files as `File`/`Blob`s.
   * @throws {TokenizerFileError} naming the file (and the JSON path) when one is missing, not JSON,
   *   has duplicate keys or a malformed field
   */
  static async fromDir(dir: ModelSource, opts: ModelSourceOptions = {}): Promise<HfTokenizer> {
    const files = modelFiles(dir, opts);
    const read = async (name: string, required: boolean): Promise<Record<string, unknown> | undefined> => {
      const text = await files.tryText(name);
      if (text === undefined) {
        if (!required) return undefined;
        throw new TokenizerFileError(files.where(name), '', 'cannot read (not found)');
      }
      return parseTokenizerFile(text, files.where(name));
    };
    const tj = (await read('tokenizer.json', true))!;
    if ((tj as { format?: string }).format === 'llama2c-tokenizer')
      throw new TokenizerFileError(
        files.where('tokenizer.json'),
        '',
        'this is a llama2.c tokenizer; use Llama2cTokenizer',
      );
    return new HfTokenizer(tj, (await read('tokenizer_config.json', false)) ?? {}, {
      tokenizerJson: files.where('tokenizer.json'),
      tokenizerConfig: files.where('tokenizer_config.json'),
    });
  }

  /** Token ids of `text`; `addSpecialTokens` (default true) applies the post-processor's template. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /** Text of `ids`; `skipSpecialTokens` drops `<|eot_id|>` and the like. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.tok.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  /** Vocabulary size including added tokens (128256 for Llama 3). */
  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }

  /** `bos_token` of tokenizer_config.json (e.g. `<|begin_of_text|>`), if any. */
  get bosToken(): string | undefined {
    return tokenText(this.tokenizerConfig.bos_token as TokenField);
  }

  /** `eos_token` of tokenizer_config.json, if any. */
  get eosToken(): string | undefined {
    return tokenText(this.tokenizerConfig.eos_token as TokenField);
  }

  /**
   * Renders a chat with the model's Jinja chat template (tokenizer_config.json's `chat_template`),
   * passing `messages`, `bos_token`, `eos_token`, `unk_token`, `pad_token` and `add_generation_prompt`,
   * as `transformers` does.
   */
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
    let template: Template;
    if (opts.chatTemplate !== undefined) {
      try {
        template = new Template(opts.chatTemplate);
      } catch (e) {
        throw new MmesidError(
          `HfTokenizer: the chatTemplate option does not parse as Jinja: ${(e as Error).message}`,
        );
      }
    } else {
      if (!this.template) {
        const src = this.tokenizerConfig.chat_template;
        if (typeof src !== 'string')
          throw new MmesidError(
            'HfTokenizer: tokenizer_config.json has no chat_template string (named templates are not supported); pass { chatTemplate }',
          );
        this.template = new Template(src);
      }
      template = this.template;
    }
    const c = this.tokenizerConfig;
    return template.render({
      messages: messages.map((m) => ({ ...m })),
      bos_token: tokenText(c.bos_token as TokenField) ?? '',
      eos_token: tokenText(c.eos_token as TokenField) ?? '',
      unk_token: tokenText(c.unk_token as TokenField) ?? '',
      pad_token: tokenText(c.pad_token as TokenField) ?? '',
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      ...opts.extra,
    });
  }

  /** {@link applyChatTemplate} then encoding without adding special tokens (Python's `tokenize=True`). */
  applyChatTemplateIds(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, opts), { addSpecialTokens: false });
  }
}
