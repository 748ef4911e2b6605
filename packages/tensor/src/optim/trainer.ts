import { tf } from '../tf.js';
import type { AdamW } from './adamw.js';
import { clipGradNorm } from './clip.js';
import type { LrSchedule } from './schedule.js';

export interface TrainerOptions {
  optimizer: AdamW;
  /** Micro-batches whose gradients are averaged before one optimiser step (default 1). */
  accumulationSteps?: number;
  /** Global-norm clipping threshold, applied to the accumulated gradient. */
  clipNorm?: number;
  /** Multiplier of the optimiser's base lr per optimiser step. */
  schedule?: LrSchedule;
}

export interface StepResult {
  loss: number;
  /** True when this micro-step completed an accumulation and updated the parameters. */
  applied: boolean;
  gradNorm?: number;
  lr?: number;
}

/**
 * One training step = forward + backward inside `tidy`, gradient accumulation, clipping, schedule
 * and the optimiser update. Only the optimiser's trainable parameters get gradients. Nothing
 * leaks: the accumulated gradients are the only tensors kept between micro-steps.
 *
 * @example
 * const trainer = new Trainer({ optimizer: new AdamW(model.trainableParameters()), accumulationSteps: 4 });
 * const { loss } = await trainer.step(() => model.loss(batch));
 */
export class Trainer {
  private accum: Map<string, tf.Tensor> | null = null;
  private micro = 0;
  private readonly baseLr: number;

  constructor(private readonly opts: TrainerOptions) {
    this.baseLr = opts.optimizer.lr;
  }

  get accumulationSteps(): number {
    return this.opts.accumulationSteps ?? 1;
  }

  async step(lossFn: () => tf.Scalar): Promise<StepResult> {
    const params = this.opts.optimizer.params;
    const vars = [...params.values()];
    const byVarName = new Map(vars.map((v, i) => [v.name, [...params.keys()][i]!]));
    const n = this.accumulationSteps;
    const lossT = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, vars);
      const next = new Map<string, tf.Tensor>();
      for (const [vname, g] of Object.entries(grads)) {
        const key = byVarName.get(vname)!;
        const scaled = n > 1 ? tf.div(g, n) : g;
        const prev = this.accum?.get(key);
        next.set(key, tf.keep(prev ? tf.add(prev, scaled) : scaled));
      }
      if (this.accum) for (const t of this.accum.values()) t.dispose();
      this.accum = next;
      return value;
    });
    const loss = (await lossT.data())[0]!;
    lossT.dispose();
    this.micro += 1;
    if (this.micro < n) return { loss, applied: false };
    return { loss, applied: true, ...(await this.apply()) };
  }

  /** Applies what has been accumulated so far (also used at the end of an epoch with a partial accumulation). */
  async flush(): Promise<{ gradNorm?: number; lr: number } | null> {
    return this.accum ? this.apply() : null;
  }

  private async apply(): Promise<{ gradNorm?: number; lr: number }> {
    const opt = this.opts.optimizer;
    const accum = this.accum!;
    this.accum = null;
    this.micro = 0;
    let grads = accum;
    let gradNorm: number | undefined;
    if (this.opts.clipNorm !== undefined) {
      const clipped = clipGradNorm(accum, this.opts.clipNorm);
      grads = clipped.grads;
      gradNorm = (await clipped.norm.data())[0]!;
      clipped.norm.dispose();
      for (const t of accum.values()) t.dispose();
    }
    const lr = this.baseLr * (this.opts.schedule ? this.opts.schedule(opt.stepCount) : 1);
    opt.step(grads, lr);
    for (const t of grads.values()) t.dispose();
    return gradNorm === undefined ? { lr } : { gradNorm, lr };
  }

  dispose(): void {
    if (this.accum) for (const t of this.accum.values()) t.dispose();
    this.accum = null;
  }
}
