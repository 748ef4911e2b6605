import { afterEach, describe, expect, it } from 'vitest';
import { checkBackend, initBackend } from './backend.js';
import { BackendError } from './errors.js';
import { tf } from './tf.js';

describe('initBackend', () => {
  const saved = process.env.MMESID_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.MMESID_BACKEND;
    else process.env.MMESID_BACKEND = saved;
  });

  it('picks a backend and says why each better one was not used', async () => {
    delete process.env.MMESID_BACKEND;
    const choice = await initBackend({ log: false, prefer: ['wasm'] });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const full = await initBackend({ log: false });
    // Every backend ahead of the chosen one in the Node order appears with a reason.
    const order = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'];
    const ahead = order.slice(0, order.indexOf(full.name));
    expect(full.skipped.map((s) => s.name)).toEqual(ahead);
    for (const s of full.skipped) expect(s.reason.length).toBeGreaterThan(10);
  });

  it('explains a required backend that cannot start', async () => {
    delete process.env.MMESID_BACKEND;
    const r = await checkBackend('tfjs-node-gpu');
    if (r.ok) return; // a CUDA machine: nothing to explain
    await expect(initBackend({ require: 'tfjs-node-gpu', log: false })).rejects.toThrow(BackendError);
    await expect(initBackend({ require: 'tfjs-node-gpu', log: false })).rejects.toThrow(/tfjs-node-gpu/);
  });

  it('obeys MMESID_BACKEND and rejects unknown names', async () => {
    process.env.MMESID_BACKEND = 'cpu';
    const c = await initBackend({ log: false, prefer: 'wasm' });
    expect(c.name).toBe('cpu');
    expect(c.fromEnv).toBe(true);
    process.env.MMESID_BACKEND = 'tpu';
    await expect(initBackend({ log: false })).rejects.toThrow(/unknown backend "tpu"/);
  });
});
