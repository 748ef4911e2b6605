import { padSequences } from '@mmesid/datasets';
import { gatherRows, ShapeError, tf } from '@mmesid/tensor';
import type { HistoryScorer } from './scorer.js';

/**
 * How a bare item-embedding table turns a history into a user vector. A table alone is not a
 * SASRec model (no attention, no positions), so this is a stated, simple read-out:
 * - `mean`: the mean of the history's item embeddings (of its last `window` items);
 * - `last`: the embedding of the most recent item (item-to-item similarity).
 */
export type TableReadout = 'mean' | 'last';

/** A scorer over an embedding table that you dispose when done (it holds the table on the backend). */
export interface DisposableScorer extends HistoryScorer {
  dispose(): void;
}

/**
 * Scores every item by the dot product of its row with a user vector read out of the same table
 * (see {@link TableReadout}). Use it to evaluate an exported or third-party table (e.g. the
 * authors' `sasrec_item_emb.f32`) with exactly the ranking code SASRec is evaluated with.
 *
 * @param table [numItems + 1, d] row-major (row 0 padding), e.g. from `loadItemEmbeddings`
 * @param window keep only the most recent `window` history items for `mean` (default: all)
 * @example
 * const t = await loadItemEmbeddings('/data/beauty/sasrec_item_emb.f32');
 * const s = tableScorer(t.matrix, 'mean');
 * const m = await evaluateRanking(s, split.test);
 * s.dispose();
 */
export function tableScorer(
  table: { readonly rows: number; readonly cols: number; readonly data: Float32Array },
  readout: TableReadout,
  window?: number,
): DisposableScorer {
  if (table.data.length !== table.rows * table.cols)
    throw new ShapeError(
      `tableScorer: ${table.rows} x ${table.cols} table holds ${table.data.length} values`,
    );
  const E = tf.tensor2d(table.data, [table.rows, table.cols]);
  const Et = tf.transpose(E) as tf.Tensor2D;
  return {
    name: `table-${readout}`,
    numItems: table.rows - 1,
    score(histories) {
      const keep = readout === 'last' ? 1 : window;
      const p = padSequences(histories, {
        side: 'right',
        minLength: 1,
        ...(keep ? { maxLength: keep } : {}),
      });
      return tf.tidy(() => {
        const ids = tf.tensor2d(p.ids, [p.rows, p.cols], 'int32');
        const mask = tf.tensor2d(Float32Array.from(p.mask), [p.rows, p.cols]).reshape([p.rows, p.cols, 1]);
        const rows = gatherRows(E, ids.reshape([-1]) as tf.Tensor1D).reshape([p.rows, p.cols, table.cols]);
        const count = tf.maximum(tf.sum(mask, 1), 1);
        const user = tf.div(tf.sum(tf.mul(rows, mask), 1), count) as tf.Tensor2D;
        return tf.matMul(user, Et);
      });
    },
    dispose() {
      tf.dispose([E, Et]);
    },
  };
}
