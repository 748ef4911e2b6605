import { StateDictError } from '../errors.js';
import { adamwUpdate } from '../ops/adamw-update.js';
import { tf } from '../tf.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter); 0 gives plain Adam. PyTorch default 1e-2. */
  weightDecay?: number;
  /** Parameters for which weight decay is skipped (e.g. biases and norms), by name. */
  noDecay?: (name: string) => boolean;
}

/**
 * AdamW exactly as PyTorch's `torch.optim.AdamW` (non-amsgrad, non-fused):
 *   p <- p - lr * wd * p
 *   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * The optimiser owns its moment tensors; `dispose()` frees them.
 */
export class AdamW {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly params: Map<string, tf.Variable>,
    private readonly opts: AdamWOptions = {},
  ) {
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-2;
  }

  get stepCount(): number {
    return this.t;
  }

  /** Applies one update from `grads` (keyed like `params`; missing keys are left unchanged). */
  step(grads: Map<string, tf.Tensor> | Record<string, tf.Tensor>, lr = this.lr): void {
    const g = grads instanceof Map ? grads : new Map(Object.entries(grads));
    this.t += 1;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    const stepSize = lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (const [name, p] of this.params) {
      const grad = g.get(name);
      if (!grad) continue;
      let m = this.m.get(name);
      let v = this.v.get(name);
      if (!m || !v) {
        m = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
        v = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
        this.m.set(name, m);
        this.v.set(name, v);
      }
      const wd = this.opts.noDecay?.(name) ? 0 : this.weightDecay;
      // One kernel per parameter on cpu and wasm (the same bits as the composite elsewhere).
      const [pNew, mNew, vNew] = adamwUpdate(p, m, v, grad, {
        beta1: b1,
        beta2: b2,
        eps: this.eps,
        lrDecay: wd ? lr * wd : 0,
        stepSize,
        sqrtBc2,
      });
      m.assign(mNew);
      v.assign(vNew);
      p.assign(pNew);
      tf.dispose([pNew, mNew, vNew]);
    }
  }

  /**
   * Moments and step count, for checkpoints (`exp_avg`/`exp_avg_sq` as PyTorch names them), for
   * every parameter: one that has had no gradient yet gets its zero moments now (exactly what its
   * first step would start from). The tensors are the optimiser's own: do not dispose them.
   */
  stateDict(): { step: number; tensors: Record<string, tf.Tensor> } {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, p] of this.params) {
      if (!this.m.has(name) || !this.v.has(name)) {
        this.m.get(name)?.dispose();
        this.v.get(name)?.dispose();
        this.m.set(
          name,
          tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        );
        this.v.set(
          name,
          tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        );
      }
      tensors[`${name}.exp_avg`] = this.m.get(name)!;
      tensors[`${name}.exp_avg_sq`] = this.v.get(name)!;
    }
    return { step: this.t, tensors };
  }

  /**
   * Restores moments and step count from {@link AdamW.stateDict} (or a checkpoint holding the same
   * names). Strict: every parameter needs both moments with its shape, and every tensor must belong
   * to a parameter. The moments are copied into variables the optimiser owns; the caller keeps (and
   * disposes) `state.tensors`.
   *
   * @throws {StateDictError} listing every missing, unexpected and mis-shaped moment; nothing is
   *   changed then
   */
  loadStateDict(state: { step: number; tensors: Record<string, tf.Tensor> }, context = 'AdamW state'): void {
    const missing: string[] = [];
    const mismatched: { key: string; expected: number[]; got: number[] }[] = [];
    const expected = new Set<string>();
    for (const [name, p] of this.params) {
      for (const key of [`${name}.exp_avg`, `${name}.exp_avg_sq`]) {
        expected.add(key);
        const t = state.tensors[key];
        if (!t) missing.push(key);
        else if (t.shape.join() !== p.shape.join() || t.dtype !== p.dtype)
          mismatched.push({ key, expected: p.shape, got: t.shape });
      }
    }
    const unexpected = Object.keys(state.tensors).filter((k) => !expected.has(k));
    if (missing.length || unexpected.length || mismatched.length)
      throw new StateDictError(missing, unexpected, mismatched, context);
    this.t = state.step;
    for (const name of this.params.keys()) {
      this.m.get(name)?.dispose();
      this.v.get(name)?.dispose();
      // A copy, so that the caller can dispose its tensors (tidy frees the intermediate).
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.clone(state.tensors[`${name}.exp_avg`]!), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.clone(state.tensors[`${name}.exp_avg_sq`]!), false)),
      );
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
