import { afterEach, describe, expect, it, vi } from 'vitest';
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

  it('never falls back from a preferred backend silently, and names the package to install without naming a package manager', async () => {
    delete process.env.MMESID_BACKEND;
    const r = await checkBackend('tfjs-node');
    if (r.ok) return; // tfjs-node is installed here: no fallback to observe
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const c = await initBackend({ log: false, prefer: ['tfjs-node', 'cpu'] });
      expect(c.name).not.toBe('tfjs-node');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/not tfjs-node: /);
      const reason = c.skipped.find((s) => s.name === 'tfjs-node')?.reason ?? '';
      expect(reason).toMatch(/@tensorflow\/tfjs-node/);
      expect(reason).not.toMatch(/pnpm add|yarn add/);
      warn.mockClear();
      await initBackend({ log: false, prefer: 'cpu' }); // nothing preferred was skipped: quiet
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
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
