import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, MmesidError } from './errors.js';
import { parseOptions } from './parse-options.js';

const Schema = z.strictObject({
  k: z.number().int().min(1).default(10),
  name: z.string().optional(),
  nested: z.strictObject({ on: z.boolean() }).optional(),
});

describe('parseOptions', () => {
  it('fills defaults, and treats undefined as no options', () => {
    expect(parseOptions(Schema, { name: 'a' }, 'opts')).toEqual({ k: 10, name: 'a' });
    expect(parseOptions(Schema, undefined, 'opts')).toEqual({ k: 10 });
  });

  it('throws one ConfigError naming the object and every bad field', () => {
    let err: unknown;
    try {
      parseOptions(Schema, { k: 0, nested: { on: 'yes' } }, 'ranking options');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(MmesidError);
    expect((err as Error).name).toBe('ConfigError');
    const msg = (err as Error).message;
    expect(msg.startsWith('ranking options: ')).toBe(true);
    expect(msg).toMatch(/k: .*>=\s*1/);
    expect(msg).toContain('nested.on: ');
    expect(() => parseOptions(Schema, 5, 'x')).toThrow(/^x: \(root\): /);
  });
});
