import { z } from 'zod';

/** Options of full-ranking evaluation ({@link FullRankingEvaluator}, {@link rankTargets}). */
export const RankingOptionsSchema = z.strictObject({
  /** Cut-offs of the reported metrics. The paper reports 5, 10 and 20. */
  ks: z.array(z.number().int().min(1)).min(1).default([5, 10, 20]),
  /**
   * Leave padding index 0 out of the ranking. The authors score all `numItems + 1` indices and do
   * not mask 0, so its score can push the target down one place; `false` (the default) does the
   * same. `true` ranks the target among real items only.
   */
  excludePadding: z.boolean().default(false),
  /**
   * The largest item id. When set, every score batch must have exactly `numItems + 1` columns
   * (ids 0..numItems), which catches a model scoring the wrong vocabulary.
   */
  numItems: z.number().int().min(1).optional(),
});

/** Options accepted by the ranking functions (all optional). */
export type RankingOptions = z.input<typeof RankingOptionsSchema>;

/** {@link RankingOptionsSchema} with its defaults filled in: the authors' protocol. */
export const RANKING_DEFAULTS: z.output<typeof RankingOptionsSchema> = RankingOptionsSchema.parse({});
