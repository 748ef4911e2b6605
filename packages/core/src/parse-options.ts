import { ConfigError } from './errors.js';

/** One validation problem, as zod reports it (`path` into the object, human-readable `message`). */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * What {@link parseOptions} needs from a schema: zod's `safeParse`. Stated structurally so this
 * package depends on nothing; any zod 4 schema fits.
 */
export interface SafeParser<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: readonly SchemaIssue[] } };
}

/**
 * Validates an options object against its (zod) schema and fills the defaults. `undefined` and
 * `null` mean "no options" and are parsed as `{}`, so a schema whose fields all have defaults
 * gives its defaults.
 *
 * @param what names the object in the message (`'SASRec config'`, `'ranking options'`)
 * @throws {ConfigError} `"<what>: <path>: <message>; ..."`, listing every failing field
 * @example
 * const opts = parseOptions(RankingOptionsSchema, { ks: [10] }, 'ranking options');
 */
export function parseOptions<T>(schema: SafeParser<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map(
    (i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`,
  );
  throw new ConfigError(`${what}: ${issues.join('; ')}`);
}
