import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without declarations
import { assembleWat, SIMD_DIR, watFiles } from '../../../scripts/assemble-wat.mjs';

// Every .wat of this folder, assembled again with wabt, gives exactly the bytes committed in its
// <name>.wasm.ts (so the shipped binary is the reviewed source); rerun
// `node packages/tensor/scripts/assemble-wat.mjs` after editing a .wat.
const artifacts: Record<string, () => Promise<{ WASM_BASE64: string }>> = {
  'adamw-update.wat': () => import('./adamw-update.wasm.js'),
  'count-at-least.wat': () => import('./count-at-least.wasm.js'),
  'gemm.wat': () => import('./gemm.wasm.js'),
  'softmax-cross-entropy.wat': () => import('./softmax-cross-entropy.wasm.js'),
  'weighted-term-sum.wat': () => import('./weighted-term-sum.wasm.js'),
};

it('has one committed artifact per .wat', () => {
  expect(watFiles()).toEqual(Object.keys(artifacts).sort());
});

for (const [wat, load] of Object.entries(artifacts))
  it(`${wat}: the committed bytes are the assembled source`, async () => {
    const want: Uint8Array = await assembleWat(readFileSync(join(SIMD_DIR, wat), 'utf8'), wat);
    const { WASM_BASE64 } = await load();
    const got = Uint8Array.from(Buffer.from(WASM_BASE64, 'base64'));
    expect(got.length).toBe(want.length);
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    expect(WebAssembly.validate(got)).toBe(true);
  });
