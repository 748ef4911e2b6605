import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '@mmesid/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from './llama2c.js';

const s = sharedDir('models', 'stories260k');

interface Golden {
  generations: { prompt: string; steps: number; prompt_ids: number[]; all_ids: number[]; stdout: string }[];
  encodings: {
    text: string;
    ids_no_bos: number[];
    ids_bos: number[];
    ids_bos_eos: number[];
    pieces: string[];
  }[];
}

describe.skipIf(!s.path)('Llama2cTokenizer on stories260k (golden run.c outputs)', () => {
  let golden: Golden;
  let tok: Llama2cTokenizer;
  let fromBin: Llama2cTokenizer;
  beforeAll(async () => {
    golden = JSON.parse(readFileSync(join(s.path!, 'golden.json'), 'utf8'));
    tok = await Llama2cTokenizer.load(join(s.path!, 'tokenizer.llama2c.json'));
    fromBin = await Llama2cTokenizer.load(join(s.path!, 'tok512.bin'), 512);
  });

  it('tok512.bin and tokenizer.llama2c.json hold the same 512 pieces and scores', () => {
    expect(tok.vocabSize).toBe(512);
    expect(fromBin.pieces).toEqual(tok.pieces);
  });

  it('encodes all 12 golden texts in all 3 BOS/EOS modes exactly as run.c', () => {
    expect(golden.encodings).toHaveLength(12);
    for (const e of golden.encodings) {
      expect(tok.encode(e.text), JSON.stringify(e.text)).toEqual(e.ids_no_bos);
      expect(tok.encode(e.text, { bos: true }), JSON.stringify(e.text)).toEqual(e.ids_bos);
      expect(tok.encode(e.text, { bos: true, eos: true }), JSON.stringify(e.text)).toEqual(e.ids_bos_eos);
      expect(fromBin.encode(e.text, { bos: true })).toEqual(e.ids_bos);
      expect(e.ids_no_bos.map((id) => tok.piece(id))).toEqual(e.pieces);
    }
  });

  it('encodes the 6 generation prompts and renders the 6 stdout strings byte for byte', () => {
    expect(golden.generations).toHaveLength(6);
    for (const g of golden.generations) {
      expect(tok.encode(g.prompt, { bos: true })).toEqual(g.prompt_ids);
      expect(tok.renderRunC(g.all_ids)).toBe(g.stdout);
    }
  });

  it('decodes byte-correctly: every golden text round-trips, byte fallback included', () => {
    for (const e of golden.encodings) expect(tok.decode(e.ids_bos)).toBe(e.text);
    // run.c drops the bytes of "ë" and the emoji; the byte-correct decoder keeps them.
    const zoe = golden.generations.find((g) => g.prompt.startsWith('Zo'))!;
    expect(tok.decode(zoe.prompt_ids)).toBe('Zoë and the 🐶');
    expect(tok.renderRunC(zoe.prompt_ids)).toBe('Zo and the \n');
  });
});

describe('Llama2cTokenizer on a hand-made vocabulary', () => {
  // ids 0..2 control, 3..258 bytes, then a few merges with scores that decide the order.
  const pieces = [
    { piece: '<unk>', score: 0 },
    { piece: '\n<s>\n', score: 0 },
    { piece: '\n</s>\n', score: 0 },
    ...Array.from({ length: 256 }, (_, b) => ({
      piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
      score: 0,
    })),
    { piece: ' ', score: -10 },
    { piece: 'a', score: -10 },
    { piece: 'b', score: -10 },
    { piece: 'ab', score: -2 },
    { piece: 'ba', score: -1 },
    { piece: ' a', score: -3 },
  ];
  const tok = new Llama2cTokenizer(pieces);
  const id = (p: string) => pieces.findIndex((x) => x.piece === p);

  it('merges the best-scoring pair first, leftmost on ties, and falls back to bytes', () => {
    // " aba": pairs " a"(-3), "ab"(-2), "ba"(-1) -> "ba" first, then " a" + "ba" has no piece; " a" wins over nothing.
    expect(tok.encode('aba')).toEqual([id(' a'), id('ba')]);
    // "é" is not in this vocabulary: two byte tokens (0xC3, 0xA9) + 3.
    expect(tok.encode('é')).toEqual([id(' '), 0xc3 + 3, 0xa9 + 3]);
    expect(tok.decode(tok.encode('é'))).toBe('é');
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('', { bos: true, eos: true })).toEqual([1, 2]);
  });
});
