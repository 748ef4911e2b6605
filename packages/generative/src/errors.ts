import { MmesidError } from '@mmesid/tensor';

/**
 * Two items share every semantic-ID code and the vocabulary was told not to add a disambiguation
 * level, so generated codes could not name one item.
 */
export class SidCollisionError extends MmesidError {
  constructor(
    readonly items: readonly [number, number],
    readonly codes: readonly number[],
  ) {
    super(
      `SidVocabulary: items ${items[0]} and ${items[1]} share every code (${codes.join(', ')}) and disambiguation is 'none'; ` +
        `use disambiguation 'auto' (TIGER's extra level) or a tokenizer without collisions`,
    );
  }
}

/**
 * A saved generative model's SID vocabulary differs from the one built from the semantic-ID
 * tokenizer (or the Llama's text vocabulary differs): the message names both sides.
 */
export class SidVocabularyMismatchError extends MmesidError {}

/** A beam search or retrieval call that cannot be answered as asked (beam wider than the catalogue, ...). */
export class BeamSearchError extends MmesidError {}
