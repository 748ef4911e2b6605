import type { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Validates an options object against its zod schema and fills the defaults.
 * @throws {ConfigError} naming `what` and every field that is wrong.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${what}: ${issues}`);
  }
  return r.data;
}
