/** A learning-rate multiplier as a function of the optimiser step (0-based). */
export type LrSchedule = (step: number) => number;

export const constantSchedule = (): LrSchedule => () => 1;

/**
 * Linear warm-up then cosine decay to 0, as Hugging Face's `get_cosine_schedule_with_warmup`
 * (num_cycles 0.5): step/warmup during warm-up, then 0.5 (1 + cos(pi * progress)).
 */
export function warmupCosineSchedule(warmupSteps: number, totalSteps: number, minRatio = 0): LrSchedule {
  return (step) => {
    if (step < warmupSteps) return step / Math.max(1, warmupSteps);
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    const cos = Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
    return minRatio + (1 - minRatio) * cos;
  };
}

/** Linear warm-up then linear decay to 0 (`get_linear_schedule_with_warmup`). */
export function warmupLinearSchedule(warmupSteps: number, totalSteps: number): LrSchedule {
  return (step) => {
    if (step < warmupSteps) return step / Math.max(1, warmupSteps);
    return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  };
}
