import { MmesidError } from '@mmesid/tensor';

/**
 * A stage reached its time guard before its epoch/step budget. Budgets are epochs and steps so a
 * seed gives the same numbers on any machine; a guard exists only to stop a stage that would run
 * far too long, and it fails the stage rather than return a result cut by the clock.
 */
export class StageGuardError extends MmesidError {
  constructor(stage: string, minutes: number, reached: string) {
    super(
      `${stage}: stopped by its ${minutes}-minute time guard after ${reached}, before its epoch/step budget; the result would depend on this machine's speed, so none is recorded. Lower the stage's budget in the preset (apps/reproduce/src/presets.ts) or raise its guardMinutes.`,
    );
    this.name = 'StageGuardError';
  }
}
