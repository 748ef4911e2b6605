import { MmesidError, ShapeError, StateDictError } from './errors.js';
import { tf } from './tf.js';

let uid = 0;

/**
 * The base of every model: named parameters (tf.Variables), buffers and submodules, with
 * PyTorch-style dotted names (`model.layers.0.mlp.gate_proj.weight`) so that state dicts map
 * one-to-one onto Hugging Face checkpoints.
 *
 * Memory: a Module owns its variables; `dispose()` frees them. `stateDict()` returns the live
 * variables themselves (like PyTorch), not copies: do not dispose them.
 */
export class Module {
  training = true;
  protected readonly _params = new Map<string, tf.Variable>();
  protected readonly _buffers = new Map<string, tf.Tensor>();
  protected readonly _modules = new Map<string, Module>();

  /** Registers a trainable (by default) parameter; the module takes ownership of `value`. */
  protected param(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    if (this._params.has(name))
      throw new MmesidError(`${this.constructor.name}: parameter "${name}" is already registered`);
    const v = tf.variable(value, trainable, `${name}_${uid++}`);
    value.dispose();
    this._params.set(name, v);
    return v;
  }

  /** Registers persistent non-trainable state that is saved in the state dict (e.g. running stats). */
  protected buffer(name: string, value: tf.Tensor): tf.Tensor {
    const old = this._buffers.get(name);
    if (old && old !== value) old.dispose();
    tf.keep(value);
    this._buffers.set(name, value);
    return value;
  }

  /**
   * Registers `m` as the direct submodule `name` and returns `m`. A module already registered under
   * `name` is replaced and not disposed; use {@link Module.replaceModule} to get it back.
   * @throws {MmesidError} when `name` is empty or contains "." (paths are dotted)
   */
  setModule<M extends Module>(name: string, m: M): M {
    if (name === '' || name.includes('.'))
      throw new MmesidError(
        `${this.constructor.name}: submodule name "${name}" must be non-empty and contain no "."`,
      );
    this._modules.set(name, m);
    return m;
  }

  /** The direct submodule called `name`, if any. */
  childModule(name: string): Module | undefined {
    return this._modules.get(name);
  }

  /** The submodule at a dotted path (`layers.0.mlp`), or undefined. */
  getModule(path: string): Module | undefined {
    if (path === '') return this;
    let m: Module | undefined = this;
    for (const part of path.split('.')) {
      m = m?._modules.get(part);
      if (!m) return undefined;
    }
    return m;
  }

  /** Replaces the submodule at a dotted path; returns the module that was there. */
  replaceModule(path: string, next: Module): Module {
    const dot = path.lastIndexOf('.');
    const parent = dot < 0 ? this : this.getModule(path.slice(0, dot));
    const name = dot < 0 ? path : path.slice(dot + 1);
    const old = parent?._modules.get(name);
    if (!parent || !old) throw new MmesidError(`${this.constructor.name}: no submodule at "${path}"`);
    parent._modules.set(name, next);
    return old;
  }

  /** Every submodule with its dotted path, this module first (path ""). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this._modules) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** Every parameter with its dotted path. */
  *namedParameters(prefix = ''): Generator<[string, tf.Variable]> {
    for (const [name, p] of this._params) yield [prefix ? `${prefix}.${name}` : name, p];
    for (const [name, m] of this._modules) yield* m.namedParameters(prefix ? `${prefix}.${name}` : name);
  }

  *namedBuffers(prefix = ''): Generator<[string, tf.Tensor]> {
    for (const [name, b] of this._buffers) yield [prefix ? `${prefix}.${name}` : name, b];
    for (const [name, m] of this._modules) yield* m.namedBuffers(prefix ? `${prefix}.${name}` : name);
  }

  /** Parameters that an optimiser should update (`trainable` set). */
  trainableParameters(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [n, p] of this.namedParameters()) if (p.trainable) out.set(n, p);
    return out;
  }

  /** Number of scalar parameters, all or trainable only. */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const [, p] of this.namedParameters()) if (!trainableOnly || p.trainable) n += p.size;
    return n;
  }

  /** Freezes or unfreezes every parameter under this module. */
  setTrainable(trainable: boolean): this {
    for (const [, p] of this.namedParameters()) p.trainable = trainable;
    return this;
  }

  /** Sets training mode (dropout active) on this module and every submodule. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers by dotted name. These are the live tensors, not copies. */
  stateDict(): Record<string, tf.Tensor> {
    const sd: Record<string, tf.Tensor> = {};
    for (const [n, p] of this.namedParameters()) sd[n] = p;
    for (const [n, b] of this.namedBuffers()) sd[n] = b;
    return sd;
  }

  /**
   * Copies values into the parameters and buffers. With `strict` (default) any missing or
   * unexpected key is an error; a shape mismatch is always an error. Nothing is assigned unless
   * every check passes. The caller still owns (and should dispose) the tensors it passed in.
   */
  loadStateDict(
    sd: Record<string, tf.Tensor>,
    opts: { strict?: boolean; context?: string } = {},
  ): { missing: string[]; unexpected: string[] } {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !(k in own));
    const mismatched: { key: string; expected: number[]; got: number[] }[] = [];
    for (const [k, t] of Object.entries(sd)) {
      const target = own[k];
      if (target && !sameShape(target.shape, t.shape))
        mismatched.push({ key: k, expected: target.shape, got: t.shape });
    }
    if (mismatched.length || (strict && (missing.length || unexpected.length)))
      throw new StateDictError(strict ? missing : [], strict ? unexpected : [], mismatched, opts.context);
    const bufferOwners = new Map<string, [Module, string]>();
    for (const [path, m] of this.namedModules())
      for (const name of m._buffers.keys()) bufferOwners.set(path ? `${path}.${name}` : name, [m, name]);
    for (const [k, t] of Object.entries(sd)) {
      const target = own[k];
      if (!target) continue;
      if (target instanceof tf.Variable) {
        target.assign(t.dtype === target.dtype ? t : tf.tidy(() => t.cast(target.dtype)));
      } else {
        const [owner, name] = bufferOwners.get(k)!;
        owner.buffer(name, tf.clone(t));
      }
    }
    return { missing, unexpected };
  }

  /** Frees every parameter and buffer of this module and its submodules. */
  dispose(): void {
    for (const [, p] of this.namedParameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Throws a ShapeError unless `t` has the given last dimension. */
export function expectLastDim(t: tf.Tensor, dim: number, what: string): void {
  if (t.shape[t.rank - 1] !== dim)
    throw new ShapeError(`${what}: expected last dimension ${dim}, got shape [${t.shape}]`);
}
