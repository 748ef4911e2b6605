import { describe, expect, it } from 'vitest';
import { checkMemoryBudget, formatBytes, WASM_HEAP_LIMIT_BYTES } from './memory.js';

describe('checkMemoryBudget', () => {
  it('refuses Llama3-8B in float32 on a 24 GiB machine and says how much it needs', () => {
    const r = checkMemoryBudget({ numParams: 8.03e9 }, { availableBytes: 24 * 2 ** 30, source: 'test' });
    expect(r.ok).toBe(false);
    expect(r.neededBytes).toBe(32.12e9);
    expect(r.message).toContain('8,030,000,000 parameters x 4 bytes = 29.9 GiB');
    expect(r.message).toContain('does not fit');
  });

  it('accepts what fits with 10 % headroom and refuses what only fits without it', () => {
    const n = 1e8; // 400 MB
    expect(checkMemoryBudget({ numParams: n }, { availableBytes: 450e6, source: 't' }).ok).toBe(true);
    expect(checkMemoryBudget({ numParams: n }, { availableBytes: 420e6, source: 't' }).ok).toBe(false);
    expect(checkMemoryBudget({ numParams: n, headroom: 0 }, { availableBytes: 420e6, source: 't' }).ok).toBe(
      true,
    );
  });

  it('refuses a tensor above the per-buffer limit even when the total fits', () => {
    const r = checkMemoryBudget(
      { numParams: 1e6, largestTensorBytes: 3e6 },
      { availableBytes: 1e12, source: 'webgpu', maxTensorBytes: 2e6 },
    );
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/largest tensor/);
  });

  it('passes with a note when nothing is known', () => {
    const r = checkMemoryBudget(
      { numParams: 10 },
      { availableBytes: null, source: 'browser without deviceMemory', notes: ['n1'] },
    );
    expect(r.ok).toBe(true);
    expect(r.message).toMatch(/cannot be determined.*n1/);
  });

  it('1B-class F32 weights (4.2 GB) cannot fit the wasm32 heap', () => {
    expect(
      checkMemoryBudget({ numParams: 1.05e9 }, { availableBytes: WASM_HEAP_LIMIT_BYTES, source: 'wasm' }).ok,
    ).toBe(false);
  });

  it('formats bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(16.06e9)).toBe('15.0 GiB');
  });
});
