/**
 * Checks of Hugging Face `tokenizer.json` and `tokenizer_config.json` before they reach
 * `@huggingface/tokenizers`, which otherwise accepts a string vocabulary, an unknown model type, an
 * added token without an id or a template that does not parse, and fails later (or never) with a
 * message that names neither the file nor the field. Each problem is a {@link TokenizerFileError}
 * naming the file and the JSON path (`model.vocab["abc"]`, `added_tokens[3].id`).
 */
import { Template } from '@huggingface/jinja';
import { firstDuplicateKey, MmesidError } from '@mmesid/tensor';

/** A tokenizer file is not JSON, has duplicate keys or a field of the wrong type or value. */
export class TokenizerFileError extends MmesidError {
  constructor(
    /** The file (path, URL or name) the problem is in. */
    readonly file: string,
    /** The JSON path of the field at fault (`model.vocab`), empty for the whole document. */
    readonly path: string,
    problem: string,
  ) {
    super(`${file}: ${path ? `${path}: ` : ''}${problem}`);
  }
}

/** The model types `@huggingface/tokenizers` implements. */
export const TOKENIZER_MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram'] as const;
/** The component types `@huggingface/tokenizers` implements, by field of tokenizer.json. */
export const TOKENIZER_COMPONENT_TYPES = {
  normalizer: [
    'BertNormalizer',
    'Precompiled',
    'Sequence',
    'Replace',
    'NFC',
    'NFD',
    'NFKC',
    'NFKD',
    'Strip',
    'StripAccents',
    'Lowercase',
    'Prepend',
  ],
  pre_tokenizer: [
    'BertPreTokenizer',
    'Sequence',
    'Whitespace',
    'WhitespaceSplit',
    'Metaspace',
    'ByteLevel',
    'Split',
    'Punctuation',
    'Digits',
    'Replace',
    'FixedLength',
  ],
  post_processor: ['TemplateProcessing', 'ByteLevel', 'BertProcessing', 'RobertaProcessing', 'Sequence'],
  decoder: [
    'ByteLevel',
    'WordPiece',
    'Metaspace',
    'BPEDecoder',
    'CTC',
    'Sequence',
    'Replace',
    'Fuse',
    'Strip',
    'ByteFallback',
  ],
} as const;
/** The field holding a Sequence's children, by component. */
const SEQUENCE_CHILDREN = {
  normalizer: 'normalizers',
  pre_tokenizer: 'pretokenizers',
  post_processor: 'processors',
  decoder: 'decoders',
} as const;

/** At most `max` characters of a value, for messages (a 10 MB token must not become the message). */
function quote(value: string, max = 80): string {
  const s = JSON.stringify(value.length > max ? value.slice(0, max) : value);
  return value.length > max ? `${s}... (${value.length} characters)` : s;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (IDENT.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${quote(key, 40)}]`;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${quote(String(v), 40)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses a tokenizer file's text: valid JSON, no duplicate key (the last one would win silently),
 * an object at the top.
 */
export function parseTokenizerFile(text: string, file: string): Record<string, unknown> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new TokenizerFileError(file, '', `not valid JSON (${(e as Error).message})`);
  }
  const dup = firstDuplicateKey(text);
  if (dup)
    throw new TokenizerFileError(
      file,
      dup.path,
      `duplicate key ${quote(dup.key, 40)} at byte ${dup.offset} (JSON keeps only the last one: remove one)`,
    );
  if (!isObject(obj)) throw new TokenizerFileError(file, '', `expected a JSON object, got ${kind(obj)}`);
  return obj;
}

/** A vocabulary `{ token: id }`: ids are unique non-negative integers. Returns id -> token. */
function checkVocabObject(v: unknown, file: string, path: string): Map<number, string> {
  if (!isObject(v))
    throw new TokenizerFileError(file, path, `expected an object { token: id }, got ${kind(v)}`);
  const byId = new Map<number, string>();
  for (const [token, id] of Object.entries(v)) {
    if (!isId(id))
      throw new TokenizerFileError(
        file,
        child(path, token),
        `expected a non-negative integer id, got ${kind(id)}`,
      );
    const other = byId.get(id);
    if (other !== undefined)
      throw new TokenizerFileError(
        file,
        child(path, token),
        `id ${id} is also the id of ${quote(other, 40)}`,
      );
    byId.set(id, token);
  }
  if (byId.size === 0) throw new TokenizerFileError(file, path, 'the vocabulary is empty');
  return byId;
}

function checkOptionalString(o: Record<string, unknown>, key: string, file: string, path: string): void {
  const v = o[key];
  if (v !== undefined && v !== null && typeof v !== 'string')
    throw new TokenizerFileError(file, child(path, key), `expected a string or null, got ${kind(v)}`);
}

function checkBpe(m: Record<string, unknown>, file: string): Map<number, string> {
  const vocabById = checkVocabObject(m.vocab, file, 'model.vocab');
  const vocab = m.vocab as Record<string, number>;
  for (const k of ['unk_token', 'continuing_subword_prefix', 'end_of_word_suffix'])
    checkOptionalString(m, k, file, 'model');
  for (const k of ['fuse_unk', 'byte_fallback', 'ignore_merges'])
    if (m[k] !== undefined && typeof m[k] !== 'boolean')
      throw new TokenizerFileError(file, `model.${k}`, `expected true or false, got ${kind(m[k])}`);
  if (
    m.dropout !== undefined &&
    m.dropout !== null &&
    !(typeof m.dropout === 'number' && m.dropout >= 0 && m.dropout <= 1)
  )
    throw new TokenizerFileError(
      file,
      'model.dropout',
      `expected null or a number in [0, 1], got ${kind(m.dropout)}`,
    );
  if (!Array.isArray(m.merges))
    throw new TokenizerFileError(file, 'model.merges', `expected an array of merges, got ${kind(m.merges)}`);
  const prefix = typeof m.continuing_subword_prefix === 'string' ? m.continuing_subword_prefix : '';
  const has = (t: string) => Object.hasOwn(vocab, t);
  m.merges.forEach((merge, i) => {
    const path = `model.merges[${i}]`;
    let pair: unknown[];
    if (typeof merge === 'string') pair = merge.split(' ');
    else if (Array.isArray(merge)) pair = merge;
    else throw new TokenizerFileError(file, path, `expected "a b" or ["a", "b"], got ${kind(merge)}`);
    if (
      pair.length !== 2 ||
      typeof pair[0] !== 'string' ||
      typeof pair[1] !== 'string' ||
      !pair[0] ||
      !pair[1]
    )
      throw new TokenizerFileError(
        file,
        path,
        `expected two tokens ("a b" or ["a", "b"]), got ${quote(JSON.stringify(merge), 60)}`,
      );
    const [a, b] = pair as [string, string];
    // The Rust library's rule: both halves and their join are in the vocabulary.
    for (const t of [a, b])
      if (!has(t)) throw new TokenizerFileError(file, path, `${quote(t, 40)} is not in model.vocab`);
    const joined = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
    if (!has(joined))
      throw new TokenizerFileError(file, path, `the merged token ${quote(joined, 40)} is not in model.vocab`);
  });
  if (typeof m.unk_token === 'string' && !has(m.unk_token))
    throw new TokenizerFileError(file, 'model.unk_token', `${quote(m.unk_token, 40)} is not in model.vocab`);
  return vocabById;
}

function checkWordPiece(m: Record<string, unknown>, file: string): Map<number, string> {
  const byId = checkVocabObject(m.vocab, file, 'model.vocab');
  if (typeof m.unk_token !== 'string')
    throw new TokenizerFileError(file, 'model.unk_token', `expected a string, got ${kind(m.unk_token)}`);
  if (!Object.hasOwn(m.vocab as object, m.unk_token))
    throw new TokenizerFileError(file, 'model.unk_token', `${quote(m.unk_token, 40)} is not in model.vocab`);
  checkOptionalString(m, 'continuing_subword_prefix', file, 'model');
  if (m.max_input_chars_per_word !== undefined && !isId(m.max_input_chars_per_word))
    throw new TokenizerFileError(
      file,
      'model.max_input_chars_per_word',
      `expected a non-negative integer, got ${kind(m.max_input_chars_per_word)}`,
    );
  return byId;
}

function checkUnigram(m: Record<string, unknown>, file: string): Map<number, string> {
  if (!Array.isArray(m.vocab) || m.vocab.length === 0)
    throw new TokenizerFileError(
      file,
      'model.vocab',
      `expected a non-empty array of [piece, score], got ${kind(m.vocab)}`,
    );
  const seen = new Set<string>();
  m.vocab.forEach((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number')
      throw new TokenizerFileError(file, `model.vocab[${i}]`, `expected [piece, score], got ${kind(e)}`);
    if (seen.has(e[0]))
      throw new TokenizerFileError(file, `model.vocab[${i}]`, `${quote(e[0], 40)} is listed twice`);
    seen.add(e[0]);
  });
  if (m.unk_id !== undefined && m.unk_id !== null && !(isId(m.unk_id) && m.unk_id < m.vocab.length))
    throw new TokenizerFileError(
      file,
      'model.unk_id',
      `expected null or an id below ${m.vocab.length}, got ${kind(m.unk_id)}`,
    );
  return new Map((m.vocab as [string, number][]).map(([piece], i) => [i, piece]));
}

function checkComponent(
  v: unknown,
  field: keyof typeof TOKENIZER_COMPONENT_TYPES,
  file: string,
  path: string,
  depth = 0,
): void {
  if (v === null || (v === undefined && depth === 0)) return;
  if (!isObject(v))
    throw new TokenizerFileError(file, path, `expected an object with a "type" or null, got ${kind(v)}`);
  const known: readonly string[] = TOKENIZER_COMPONENT_TYPES[field];
  if (typeof v.type !== 'string' || !known.includes(v.type))
    throw new TokenizerFileError(
      file,
      `${path}.type`,
      `${v.type === undefined ? 'missing' : kind(v.type)}: not a ${field} this tokenizer library implements (${known.join(', ')})`,
    );
  if (v.type === 'Sequence') {
    const key = SEQUENCE_CHILDREN[field];
    const children = v[key];
    if (!Array.isArray(children))
      throw new TokenizerFileError(file, `${path}.${key}`, `expected an array, got ${kind(children)}`);
    if (depth > 16) throw new TokenizerFileError(file, path, 'Sequences nested more than 16 deep');
    for (const [i, c] of children.entries())
      checkComponent(c, field, file, `${path}.${key}[${i}]`, depth + 1);
  }
}

/**
 * Checks a parsed `tokenizer.json` (what `@huggingface/tokenizers` would accept silently or fail on
 * without naming the field).
 * @throws {TokenizerFileError} naming `file` and the JSON path
 */
export function checkTokenizerJson(tj: unknown, file: string): void {
  if (!isObject(tj)) throw new TokenizerFileError(file, '', `expected a JSON object, got ${kind(tj)}`);
  if (tj.version !== undefined && typeof tj.version !== 'string')
    throw new TokenizerFileError(file, 'version', `expected a string, got ${kind(tj.version)}`);
  for (const k of ['truncation', 'padding'])
    if (tj[k] !== undefined && tj[k] !== null && !isObject(tj[k]))
      throw new TokenizerFileError(file, k, `expected an object or null, got ${kind(tj[k])}`);
  const m = tj.model;
  if (!isObject(m)) throw new TokenizerFileError(file, 'model', `expected an object, got ${kind(m)}`);
  let vocab: Map<number, string>;
  if (m.type === 'BPE') vocab = checkBpe(m, file);
  else if (m.type === 'WordPiece') vocab = checkWordPiece(m, file);
  else if (m.type === 'Unigram') vocab = checkUnigram(m, file);
  else
    throw new TokenizerFileError(
      file,
      'model.type',
      `${m.type === undefined ? 'missing' : kind(m.type)}: not a model this tokenizer library implements (${TOKENIZER_MODEL_TYPES.join(', ')})`,
    );
  const idOf = new Map<string, number>();
  for (const [id, token] of vocab) idOf.set(token, id);

  const added = tj.added_tokens;
  if (added !== undefined && !Array.isArray(added))
    throw new TokenizerFileError(file, 'added_tokens', `expected an array, got ${kind(added)}`);
  const addedIds = new Map<number, string>();
  (added ?? []).forEach((t: unknown, i: number) => {
    const path = `added_tokens[${i}]`;
    if (!isObject(t)) throw new TokenizerFileError(file, path, `expected an object, got ${kind(t)}`);
    if (!isId(t.id))
      throw new TokenizerFileError(
        file,
        `${path}.id`,
        `expected a non-negative integer id, got ${t.id === undefined ? 'none' : kind(t.id)}`,
      );
    if (typeof t.content !== 'string' || t.content === '')
      throw new TokenizerFileError(
        file,
        `${path}.content`,
        `expected a non-empty string, got ${kind(t.content)}`,
      );
    for (const k of ['special', 'single_word', 'lstrip', 'rstrip', 'normalized'])
      if (t[k] !== undefined && typeof t[k] !== 'boolean')
        throw new TokenizerFileError(file, `${path}.${k}`, `expected true or false, got ${kind(t[k])}`);
    const other = addedIds.get(t.id);
    if (other !== undefined && other !== t.content)
      throw new TokenizerFileError(
        file,
        `${path}.id`,
        `id ${t.id} is also the id of added token ${quote(other, 40)}`,
      );
    addedIds.set(t.id, t.content);
    // An added token that is in the vocabulary keeps its id there; another id would make two ids decode alike.
    const inVocab = idOf.get(t.content);
    if (inVocab !== undefined && inVocab !== t.id)
      throw new TokenizerFileError(
        file,
        `${path}.id`,
        `${t.id}, but ${quote(t.content, 40)} has id ${inVocab} in model.vocab`,
      );
    const taken = vocab.get(t.id);
    if (taken !== undefined && taken !== t.content)
      throw new TokenizerFileError(
        file,
        `${path}.id`,
        `${t.id} is already the id of ${quote(taken, 40)} in model.vocab`,
      );
  });

  for (const field of Object.keys(TOKENIZER_COMPONENT_TYPES) as (keyof typeof TOKENIZER_COMPONENT_TYPES)[])
    checkComponent(tj[field], field, file, field);
}

type TokenField = string | { content?: unknown } | null | undefined;

/**
 * Checks a parsed `tokenizer_config.json`: special-token fields are strings, `{ content }` objects or
 * null; `chat_template` (a string, or a list of `{ name, template }`) parses as Jinja.
 * @throws {TokenizerFileError} naming `file` and the JSON path
 */
export function checkTokenizerConfig(cfg: unknown, file: string): void {
  if (!isObject(cfg)) throw new TokenizerFileError(file, '', `expected a JSON object, got ${kind(cfg)}`);
  for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
    const v = cfg[k] as TokenField;
    if (v === undefined || v === null || typeof v === 'string') continue;
    if (!isObject(v) || typeof v.content !== 'string')
      throw new TokenizerFileError(
        file,
        k,
        `expected a string, { "content": string } or null, got ${kind(v)}`,
      );
  }
  for (const k of ['add_bos_token', 'add_eos_token', 'clean_up_tokenization_spaces'])
    if (cfg[k] !== undefined && cfg[k] !== null && typeof cfg[k] !== 'boolean')
      throw new TokenizerFileError(file, k, `expected true or false, got ${kind(cfg[k])}`);
  if (
    cfg.model_max_length !== undefined &&
    !(typeof cfg.model_max_length === 'number' && cfg.model_max_length > 0)
  )
    throw new TokenizerFileError(
      file,
      'model_max_length',
      `expected a positive number, got ${kind(cfg.model_max_length)}`,
    );
  const dec = cfg.added_tokens_decoder;
  if (dec !== undefined) {
    if (!isObject(dec))
      throw new TokenizerFileError(
        file,
        'added_tokens_decoder',
        `expected an object { id: token }, got ${kind(dec)}`,
      );
    for (const [id, t] of Object.entries(dec)) {
      if (!/^\d+$/.test(id))
        throw new TokenizerFileError(file, child('added_tokens_decoder', id), 'the key is not a token id');
      if (!isObject(t) || typeof t.content !== 'string')
        throw new TokenizerFileError(
          file,
          child('added_tokens_decoder', id),
          `expected { "content": string, ... }, got ${kind(t)}`,
        );
    }
  }
  const tpl = cfg.chat_template;
  const parse = (src: string, path: string) => {
    try {
      new Template(src);
    } catch (e) {
      throw new TokenizerFileError(file, path, `the Jinja template does not parse: ${(e as Error).message}`);
    }
  };
  if (tpl === undefined || tpl === null) return;
  if (typeof tpl === 'string') parse(tpl, 'chat_template');
  else if (Array.isArray(tpl))
    tpl.forEach((t: unknown, i) => {
      if (!isObject(t) || typeof t.name !== 'string' || typeof t.template !== 'string')
        throw new TokenizerFileError(
          file,
          `chat_template[${i}]`,
          `expected { "name": string, "template": string }, got ${kind(t)}`,
        );
      parse(t.template, `chat_template[${i}].template`);
    });
  else
    throw new TokenizerFileError(
      file,
      'chat_template',
      `expected a string or a list of { name, template }, got ${kind(tpl)}`,
    );
}
