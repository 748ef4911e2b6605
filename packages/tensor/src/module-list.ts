import { Module } from './module.js';

/**
 * An ordered list of submodules registered under "0", "1", ... so that their parameters get the
 * PyTorch `nn.ModuleList` names (`layers.3.mlp.up_proj.weight`).
 *
 * `at(i)` reads the registry, so a module swapped in with `replaceModule('layers.3', m)` is the one
 * returned.
 */
export class ModuleList<M extends Module = Module> extends Module {
  private count = 0;

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  /** Appends a module under the next index. */
  push(m: M): this {
    this.setModule(String(this.count++), m);
    return this;
  }

  get length(): number {
    return this.count;
  }

  /** The module currently registered at index `i`. */
  at(i: number): M {
    const m = this.childModule(String(i));
    if (!m) throw new RangeError(`ModuleList: no module at index ${i} (length ${this.count})`);
    return m as M;
  }

  *[Symbol.iterator](): Iterator<M> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }
}
