import { Linear, type Module } from '@mmesid/tensor';
import type { LoraConfig, TargetPattern } from './config.js';
import { LoraLinear } from './lora-linear.js';

const GLOB_CHARS = /[*?]/;

function escapeRegExp(s: string): string {
  return s.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

function globToRegExpSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^.]*';
    else if (c === '?') out += '[^.]';
    else out += escapeRegExp(c);
  }
  return out;
}

const compiled = new Map<string, RegExp>();

function anchored(re: RegExp): RegExp {
  const key = `${re.source}\u0000${re.flags}`;
  let a = compiled.get(key);
  if (!a) {
    a = new RegExp(`^(?:${re.source})$`, re.flags.replace(/[gy]/g, ''));
    compiled.set(key, a);
  }
  return a;
}

/**
 * Whether a dotted module path is selected by a pattern, with PEFT's semantics for names:
 * - a plain string matches the whole path or its last component(s): `'gate_proj'` and
 *   `'mlp.gate_proj'` match `model.layers.0.mlp.gate_proj`, `'proj'` does not;
 * - a glob (a string with `*` or `?`) is matched the same way, whole path or dotted suffix, with `*`
 *   and `?` staying inside one component and `**` crossing them: `'layers.*.mlp.*_proj'`;
 * - a `RegExp` must match the whole path (PEFT's `re.fullmatch` for a string `target_modules`).
 *
 * @example
 * matchesPattern('model.layers.3.mlp.up_proj', 'up_proj'); // true
 * matchesPattern('model.layers.3.mlp.up_proj', 'model.layers.*.mlp.*_proj'); // true
 * matchesPattern('model.layers.3.mlp.up_proj', /.*\.(up|down)_proj/); // true
 */
export function matchesPattern(path: string, pattern: TargetPattern): boolean {
  if (path === '') return false;
  if (pattern instanceof RegExp) return anchored(pattern).test(path);
  if (!GLOB_CHARS.test(pattern)) return path === pattern || path.endsWith(`.${pattern}`);
  return anchored(new RegExp(`(?:.*\\.)?${globToRegExpSource(pattern)}`)).test(path);
}

/**
 * A pattern as it appears in error messages: strings quoted, regexes as `/source/flags`.
 *
 * @example
 * describePattern(/o_proj/); // '/o_proj/'
 */
export function describePattern(p: TargetPattern): string {
  return p instanceof RegExp ? String(p) : JSON.stringify(p);
}

/** True for a plain module name or dotted suffix (no glob, no RegExp): PEFT can read it as a list entry. */
export function isPlainName(p: TargetPattern): p is string {
  return typeof p === 'string' && !GLOB_CHARS.test(p);
}

/** What a config selects in a model, found without changing the model. */
export interface ResolvedTargets {
  /** Linear modules that get (or already have) an adapter, in module order, by dotted path. */
  targets: [path: string, layer: Linear | LoraLinear][];
  /** Modules trained in full and saved with the adapter (`modulesToSave`), by dotted path. */
  saved: [path: string, module: Module][];
  /** Problems, one line each: patterns that matched nothing, targets that are not Linear. */
  problems: string[];
}

/**
 * Walks the model (not into existing LoRA wrappers) and lists what `config` selects. A model that
 * already carries adapters reports each `LoraLinear` as the target at its path.
 *
 * Problems are collected, not thrown, so that a loader can report them together with the tensor
 * mismatches of a file. Use it as a dry run before `applyLora`.
 *
 * @example
 * const { targets, problems } = resolveTargets(model, parseLoraConfig({ targetModules: ['gate_proj'] }));
 * targets.map(([path]) => path); // ['model.layers.0.mlp.gate_proj', ...]
 */
export function resolveTargets(
  model: Module,
  config: Pick<LoraConfig, 'targetModules' | 'excludeModules' | 'modulesToSave'>,
): ResolvedTargets {
  const modules: [string, Module][] = [];
  const inside: string[] = [];
  for (const [path, m] of model.namedModules()) {
    if (inside.some((w) => path.startsWith(`${w}.`))) continue;
    modules.push([path, m]);
    if (m instanceof LoraLinear) inside.push(path);
  }
  const isLinear = (m: Module) => m instanceof Linear || m instanceof LoraLinear;
  const problems: string[] = [];
  const targets: [string, Linear | LoraLinear][] = [];
  const exclude = config.excludeModules;
  const excluded = (path: string) => exclude.some((p) => matchesPattern(path, p));

  if (config.targetModules === 'all-linear') {
    for (const [path, m] of modules)
      if (path !== 'lm_head' && isLinear(m) && !excluded(path))
        targets.push([path, m as Linear | LoraLinear]);
    if (!targets.length)
      problems.push('targetModules "all-linear": the model has no Linear module (besides lm_head)');
  } else {
    const patterns = Array.isArray(config.targetModules)
      ? (config.targetModules as readonly TargetPattern[])
      : [config.targetModules as TargetPattern];
    const hits = new Array<number>(patterns.length).fill(0);
    const notLinear: string[] = [];
    for (const [path, m] of modules) {
      let hit = false;
      patterns.forEach((p, i) => {
        if (matchesPattern(path, p)) {
          hits[i]! += 1;
          hit = true;
        }
      });
      if (!hit || excluded(path)) continue;
      if (isLinear(m)) targets.push([path, m as Linear | LoraLinear]);
      else notLinear.push(`${path} (${m.constructor.name})`);
    }
    const unmatched = patterns.filter((_, i) => hits[i] === 0);
    if (unmatched.length)
      problems.push(
        `targetModules that match no module: ${unmatched.map(describePattern).join(', ')}` +
          ` (Linear modules of this model look like: ${examplePaths(modules, isLinear)})`,
      );
    if (notLinear.length)
      problems.push(
        `targetModules select modules that are not Linear (only Linear can carry LoRA): ${notLinear.join(', ')}`,
      );
    if (!unmatched.length && !notLinear.length && !targets.length)
      problems.push('targetModules: every matched module is excluded by excludeModules');
  }

  const saved: [string, Module][] = [];
  const savePatterns = config.modulesToSave;
  const saveHits = new Array<number>(savePatterns.length).fill(0);
  for (const [path, m] of modules) {
    let hit = false;
    savePatterns.forEach((p, i) => {
      if (matchesPattern(path, p)) {
        saveHits[i]! += 1;
        hit = true;
      }
    });
    if (!hit) continue;
    if (saved.some(([s]) => path.startsWith(`${s}.`))) continue;
    if (targets.some(([t]) => t === path || path.startsWith(`${t}.`) || t.startsWith(`${path}.`)))
      problems.push(
        `modulesToSave selects ${path}, which overlaps a LoRA target; a module is either adapted or saved`,
      );
    else saved.push([path, m]);
  }
  const unsaved = savePatterns.filter((_, i) => saveHits[i] === 0);
  if (unsaved.length)
    problems.push(`modulesToSave that match no module: ${unsaved.map(describePattern).join(', ')}`);
  return { targets, saved, problems };
}

function examplePaths(modules: [string, Module][], keep: (m: Module) => boolean): string {
  const paths = modules.filter(([p, m]) => p && keep(m)).map(([p]) => p);
  if (!paths.length) return 'none';
  const shown = paths.slice(0, 4).join(', ');
  return paths.length > 4 ? `${shown}, ... (${paths.length} in all)` : shown;
}
