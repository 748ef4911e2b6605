import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

const SPLIT = 'MmesidTestSplitSigns';

/**
 * A two-output test kernel: the int32 indices of x's positive entries (the rest of that output left
 * as allocated) and x's entries doubled. Written only where positive, so it also shows that the
 * outputs start zeroed.
 */
registerHostKernel<{ scale: number }>(SPLIT, {
  outputs: ({ x }) => [
    { shape: x!.shape, dtype: 'int32' },
    { shape: x!.shape, dtype: 'float32' },
  ],
  run: ({ x }, _inputs, { scale }, [idx, scaled]) => {
    let k = 0;
    for (let i = 0; i < x!.length; i++) {
      if (x![i]! > 0) idx![k++] = i;
      scaled![i] = x![i]! * scale;
    }
  },
});

describeBackends(
  'registerHostKernel',
  ({ backend }) => {
    it('runs a kernel over the backend buffers: several outputs, their dtypes, zeroed, attrs passed', async () => {
      const x = tf.tensor1d([-1, 2, 0, 5, -3, 7]);
      // Grow the WASM heap between allocations so a stale view would be detected.
      const filler = tf.zeros([1 << 18]);
      // Freed memory holding non-zeros, which the outputs' allocation may reuse.
      tf.dispose([tf.fill([6], 9, 'int32'), tf.fill([6], 9)]);
      const [idx, scaled] = tf.engine().runKernel(SPLIT, { x }, { scale: 0.5 }) as tf.Tensor[];
      expect(idx!.dtype).toBe('int32');
      expect(scaled!.dtype).toBe('float32');
      expect(Array.from(await idx!.data())).toEqual([1, 3, 5, 0, 0, 0]);
      expect(Array.from(await scaled!.data())).toEqual([-0.5, 1, 0, 2.5, -1.5, 3.5]);
      tf.dispose([x, filler, idx!, scaled!]);
    });

    it('UnsortedSegmentSum (the gradient of gather) sums rows by id and drops out-of-range ids', async () => {
      const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]);
      const ids = tf.tensor1d([2, 0, 2, -1, 7], 'int32');
      const out = tf.unsortedSegmentSum(x, ids, 3);
      expect(out.shape).toEqual([3, 2]);
      // Row 0 <- x[1]; row 1 <- nothing; row 2 <- x[0] + x[2]; ids -1 and 7 dropped.
      expect(Array.from(await out.data())).toEqual([3, 4, 0, 0, 6, 8]);
      const xi = tf.tensor1d([5, -2, 9], 'int32');
      const idsI = tf.tensor1d([1, 1, 0], 'int32');
      const oi = tf.unsortedSegmentSum(xi, idsI, 2);
      if (backend === 'wasm') expect(oi.dtype).toBe('int32'); // ours; tfjs-backend-cpu's returns float32
      expect(Array.from(await oi.data())).toEqual([9, 3]);
      tf.dispose([x, ids, out, xi, idsI, oi]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
