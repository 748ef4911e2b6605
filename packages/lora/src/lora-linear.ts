import { Dropout, Linear, MmesidError, Module, type Rng, tf } from '@mmesid/tensor';

/** Options of one {@link LoraLinear}. */
export interface LoraLinearOptions {
  /** Rank of the update. */
  r: number;
  /** The update is multiplied by `scaling` (usually `alpha / r`, see `loraScaling`). */
  scaling: number;
  /** Dropout on the adapter's input, training mode only (0 = none). */
  dropout: number;
  /** Seeds `lora_A`'s init and the dropout masks. */
  rng: Rng;
}

const carrying = new WeakSet<Linear>();

/**
 * A `Linear` with a low-rank adapter, PEFT's `lora.Linear`:
 *
 *   y = base(x) + scaling * B(A(dropout(x)))
 *
 * with `A` = `lora_A.weight` [r, in] drawn kaiming-uniform (a = sqrt 5, bound 1 / sqrt(in), as PEFT),
 * `B` = `lora_B.weight` [out, r] zero, so the wrapped layer computes exactly what the base did until
 * B is trained. The base `Linear` stays frozen and is registered as `base_layer`, so its weight's
 * state-dict key becomes `...gate_proj.base_layer.weight` (PEFT's naming).
 *
 * The wrapped `Linear` is left as it is (its own `forward` stays the plain layer): the adapter takes
 * effect where the model looks its children up at call time (`callChild` of @mmesid/tensor, as
 * every model of mmesid does), after `replaceModule(path, lora)` put it there. A model that calls
 * a Linear it kept in a field bypasses the adapter.
 *
 * Memory: the wrapper owns `lora_A` and `lora_B`; `release()` frees them and hands the base back.
 * `dispose()` frees everything, base included.
 *
 * @see Hu et al. 2021, LoRA, Eq. 3 (h = W0 x + B A x) and Sec. 4.1 (A random, B zero, scaling alpha / r)
 * @see MME-SID, fine-tuning stage: the Llama backbone is tuned only through LoRA on gate/up/down_proj
 * @example
 * const lora = new LoraLinear(linear, { r: 8, scaling: 2, dropout: 0.05, rng: new Rng(0) });
 * const y = lora.forward(x); // equals linear's output until lora_B is trained
 */
export class LoraLinear extends Module {
  readonly base: Linear;
  readonly loraA: Linear;
  readonly loraB: Linear;
  readonly dropout: Dropout | null;
  readonly r: number;
  readonly scaling: number;
  private _merged = false;
  private released = false;

  constructor(base: Linear, opts: LoraLinearOptions) {
    super();
    if (base instanceof LoraLinear) throw new MmesidError('LoraLinear: cannot wrap a LoraLinear');
    if (carrying.has(base))
      throw new MmesidError(
        `LoraLinear: this Linear(${base.inFeatures}, ${base.outFeatures}) already carries an adapter`,
      );
    if (!Number.isInteger(opts.r) || opts.r < 1)
      throw new RangeError(`LoraLinear: r must be a positive integer, got ${opts.r}`);
    this.r = opts.r;
    this.scaling = opts.scaling;
    this.base = this.setModule('base_layer', base);
    base.setTrainable(false);
    this.loraA = this.setModule(
      'lora_A',
      new Linear(base.inFeatures, opts.r, { bias: false, rng: opts.rng.fork('lora_A') }),
    );
    this.loraB = this.setModule(
      'lora_B',
      new Linear(opts.r, base.outFeatures, { bias: false, skipInit: true }),
    );
    this.dropout =
      opts.dropout > 0
        ? this.setModule('lora_dropout', new Dropout(opts.dropout, opts.rng.fork('lora_dropout')))
        : null;
    this.training = base.training;
    this.loraA.training = this.loraB.training = base.training;
    if (this.dropout) this.dropout.training = base.training;

    carrying.add(base);
  }

  get inFeatures(): number {
    return this.base.inFeatures;
  }

  get outFeatures(): number {
    return this.base.outFeatures;
  }

  /** True while `scaling * B A` is added into the base weight (see {@link merge}). */
  get merged(): boolean {
    return this._merged;
  }

  /**
   * Base output plus the scaled low-rank update; when merged, only the (merged) base. The result
   * belongs to the caller.
   *
   * Gotcha: while merged the adapter is not on the gradient path, so training a merged layer leaves
   * A and B unchanged; `unmerge()` before training.
   */
  forward(x: tf.Tensor): tf.Tensor {
    this.assertLive();
    if (this._merged) return this.base.forward(x);
    return tf.tidy(() => {
      const y = this.base.forward(x);
      const h = this.dropout ? this.dropout.forward(x) : x;
      const update = this.loraB.forward(this.loraA.forward(h));
      return tf.add(y, tf.mul(update, this.scaling));
    });
  }

  /**
   * The base layer's output alone (its current weight: merged or not), bypassing the adapter; the
   * same as `base.forward(x)`.
   */
  forwardBase(x: tf.Tensor): tf.Tensor {
    this.assertLive();
    return this.base.forward(x);
  }

  /** `scaling * B A` [out, in], the update this adapter adds to the base weight. The caller owns it. */
  deltaWeight(): tf.Tensor2D {
    this.assertLive();
    return tf.tidy(() =>
      tf.mul(tf.matMul(this.loraB.weight as tf.Tensor2D, this.loraA.weight as tf.Tensor2D), this.scaling),
    ) as tf.Tensor2D;
  }

  /**
   * Adds the update into the base weight (`W += scaling * B A`), so a forward costs one matmul.
   * Does nothing if already merged.
   *
   * Gotcha: in float32, `merge()` then `unmerge()` returns W only up to rounding (about 1e-7
   * relative), as in PEFT; keep a copy of the base if you need it bit for bit.
   */
  merge(): void {
    this.assertLive();
    if (this._merged) return;
    tf.tidy(() => {
      this.base.weight.assign(tf.add(this.base.weight, this.deltaWeight()));
    });
    this._merged = true;
  }

  /** Subtracts the update from the base weight again (`W -= scaling * B A`). Does nothing if not merged. */
  unmerge(): void {
    this.assertLive();
    if (!this._merged) return;
    tf.tidy(() => {
      this.base.weight.assign(tf.sub(this.base.weight, this.deltaWeight()));
    });
    this._merged = false;
  }

  /**
   * Removes the adapter: frees `lora_A` and `lora_B` and returns the base `Linear`, with the update merged into it if this layer was merged. The wrapper is unusable
   * afterwards; put the returned Linear back into the model (`replaceModule`).
   */
  release(): Linear {
    this.assertLive();
    this.loraA.dispose();
    this.loraB.dispose();
    carrying.delete(this.base);
    this.released = true;
    return this.base;
  }

  override dispose(): void {
    if (this.released) return;
    const base = this.release();
    base.dispose();
  }

  private assertLive(): void {
    if (this.released) throw new MmesidError('LoraLinear: used after release()');
  }
}
