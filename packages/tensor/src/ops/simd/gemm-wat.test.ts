import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without declarations
import { SIMD_DIR } from '../../../scripts/assemble-wat.mjs';
// @ts-expect-error: a plain .mjs build script without declarations
import { gemmWat } from '../../../scripts/gemm-wat.mjs';

// gemm.wat is generated (its register tiles are unrolled by packages/tensor/scripts/gemm-wat.mjs):
// the committed text must be the script's output, so that the script is the source to edit.
it('gemm.wat is the output of scripts/gemm-wat.mjs', () => {
  expect(readFileSync(join(SIMD_DIR, 'gemm.wat'), 'utf8')).toBe(gemmWat());
});
