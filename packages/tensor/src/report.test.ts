import { describe, expect, it } from 'vitest';
import { timePerCall } from './report.js';

describe('timePerCall', () => {
  it('warms up once, then times at least two calls, and returns the mean over the timed calls', async () => {
    let calls = 0;
    const ms = await timePerCall(async () => {
      calls++;
    }, 0);
    expect(calls).toBe(3);
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('waits for each call before starting the next', async () => {
    let running = 0;
    let overlapped = false;
    await timePerCall(async () => {
      running++;
      if (running > 1) overlapped = true;
      await new Promise((r) => setTimeout(r, 1));
      running--;
    }, 5);
    expect(overlapped).toBe(false);
  });
});
