import type { Module } from '@mmesid/tensor';

/** Parameter counts of a model, as PEFT's `print_trainable_parameters` reports them. */
export interface TrainableSummary {
  /** Scalars in parameters with `trainable` set. */
  trainable: number;
  /** Scalars in every parameter (base and adapters). */
  all: number;
  /** `100 * trainable / all`. */
  percent: number;
  /** `trainable params: 1,234 || all params: 56,789 || trainable%: 2.1730`, PEFT's exact format. */
  text: string;
}

/**
 * Counts trainable and total parameters. With LoRA on gate/up/down (r 8) of Llama3-8B this is
 * 14,155,776 of 8,044,417,024 parameters (0.1760%): the small fraction the paper trains.
 *
 * @see MME-SID, implementation details: LoRA with r = 8, alpha = 16, dropout 0.05 on gate/up/down_proj
 * @example
 * console.log(trainableSummary(model).text);
 * // trainable params: 1,536 || all params: 99,840 || trainable%: 1.5385
 */
export function trainableSummary(model: Module): TrainableSummary {
  let trainable = 0;
  let all = 0;
  for (const [, p] of model.namedParameters()) {
    all += p.size;
    if (p.trainable) trainable += p.size;
  }
  const percent = all ? (100 * trainable) / all : 0;
  const fmt = (n: number) => n.toLocaleString('en-US');
  return {
    trainable,
    all,
    percent,
    text: `trainable params: ${fmt(trainable)} || all params: ${fmt(all)} || trainable%: ${percent.toFixed(4)}`,
  };
}
