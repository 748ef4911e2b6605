import { padSequences } from '@mmesid/datasets';
import { tf } from '@mmesid/tensor';
import type { SASRec } from './model.js';
import type { HistoryScorer } from './scorer.js';

/**
 * Left-pads histories into SASRec's input: the most recent `maxLen` items of each, as int32
 * [B, L] with L the longest kept history (at least 1). The caller owns the tensor.
 */
export function historyIds(histories: readonly ArrayLike<number>[], maxLen: number): tf.Tensor2D {
  const p = padSequences(histories, { side: 'left', maxLength: maxLen, minLength: 1 });
  return tf.tensor2d(p.ids, [p.rows, p.cols], 'int32');
}

/**
 * SASRec as a {@link HistoryScorer}: the representation at the last position of the (truncated)
 * history dotted with every item embedding (SASRec Eq. 6, as the reference `predict`). Puts the
 * model in eval mode (no dropout) while scoring and restores the previous mode.
 */
export function sasrecScorer(model: SASRec): HistoryScorer {
  return {
    name: 'sasrec',
    numItems: model.config.numItems,
    score(histories) {
      const wasTraining = model.training;
      model.eval();
      try {
        return tf.tidy(() => {
          const ids = historyIds(histories, model.config.maxLen);
          return model.scoreAll(model.lastHidden(ids));
        });
      } finally {
        model.train(wasTraining);
      }
    },
  };
}
