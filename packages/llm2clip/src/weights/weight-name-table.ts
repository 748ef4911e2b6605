import { WeightNameError } from '../errors.js';

/**
 * One row of a weight-name table: checkpoint names matching `pattern` become the module parameter
 * `to(match)`, or are skipped on purpose when `to` is null. `note` says where the name comes from and
 * whether it was checked against a real file.
 */
export interface WeightNameRule {
  readonly pattern: RegExp;
  readonly to: ((m: RegExpExecArray) => string) | null;
  readonly note: string;
}

/** Rules tried in order; the first match wins. Anything no rule matches is an error. */
export type WeightNameTable = readonly WeightNameRule[];

/** The result of applying a table to a checkpoint's tensor names. */
export interface WeightNameMapping {
  /** checkpoint name -> module parameter name. */
  readonly mapped: ReadonlyMap<string, string>;
  /** Checkpoint names skipped on purpose, with the rule's note. */
  readonly ignored: ReadonlyMap<string, string>;
}

/**
 * Maps a checkpoint's tensor names through `table`. Fails loudly: a name that no rule matches, or two
 * names that map to the same parameter, throw `WeightNameError` listing them, so a checkpoint whose
 * names differ from what we assumed can never load half-way.
 *
 * @example
 * const { mapped } = mapWeightNames(['text_adapter.adaptor.0.ln.weight'], LLM2CLIP_ADAPTER_NAMES, 'model.safetensors');
 * mapped.get('text_adapter.adaptor.0.ln.weight'); // 'adaptor.0.ln.weight'
 */
export function mapWeightNames(
  keys: Iterable<string>,
  table: WeightNameTable,
  file: string,
): WeightNameMapping {
  const mapped = new Map<string, string>();
  const ignored = new Map<string, string>();
  const unknown: string[] = [];
  const targets = new Map<string, string>();
  const dup: string[] = [];
  for (const key of keys) {
    let hit = false;
    for (const rule of table) {
      rule.pattern.lastIndex = 0;
      const m = rule.pattern.exec(key);
      if (!m) continue;
      hit = true;
      if (rule.to === null) ignored.set(key, rule.note);
      else {
        const to = rule.to(m);
        const prev = targets.get(to);
        if (prev !== undefined) dup.push(`${prev} and ${key} -> ${to}`);
        targets.set(to, key);
        mapped.set(key, to);
      }
      break;
    }
    if (!hit) unknown.push(key);
  }
  if (unknown.length)
    throw new WeightNameError(
      file,
      `${unknown.length} tensor name(s) match no rule of the weight-name table: ${unknown.slice(0, 10).join(', ')}` +
        `${unknown.length > 10 ? `, ... (${unknown.length - 10} more)` : ''}. If the checkpoint is right, add a rule ` +
        'for them (src/weights/*-names.ts)',
      unknown,
    );
  if (dup.length)
    throw new WeightNameError(
      file,
      `several tensors map to one parameter: ${dup.slice(0, 5).join('; ')}`,
      dup,
    );
  return { mapped, ignored };
}
