import { ConfigError } from '@mmesid/tensor';
import type { z } from 'zod';

/** Validates `input` with a zod schema and fills defaults; a `ConfigError` lists every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new ConfigError(`${what}: ${issues.join('; ')}`);
}
