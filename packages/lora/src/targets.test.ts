import { describeBackends } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { ToyLlama } from './__fixtures__/toy-llama.js';
import { LORA_DEFAULTS } from './config.js';
import { matchesPattern, resolveTargets } from './targets.js';

const P = 'model.layers.0.mlp.gate_proj';

describe('matchesPattern (PEFT name semantics, globs, regexes)', () => {
  it('a plain name matches the whole path or its last dotted component(s)', () => {
    expect(matchesPattern(P, 'gate_proj')).toBe(true);
    expect(matchesPattern(P, 'mlp.gate_proj')).toBe(true);
    expect(matchesPattern(P, P)).toBe(true);
    expect(matchesPattern(P, 'proj')).toBe(false);
    expect(matchesPattern(P, 'ate_proj')).toBe(false);
    expect(matchesPattern(P, 'mlp')).toBe(false);
    expect(matchesPattern('model.layers.0.mlp', 'mlp')).toBe(true);
  });

  it('globs: * and ? stay inside a component, ** crosses them, suffix matching as for names', () => {
    expect(matchesPattern(P, 'model.layers.*.mlp.*_proj')).toBe(true);
    expect(matchesPattern(P, 'layers.*.mlp.*_proj')).toBe(true);
    expect(matchesPattern(P, '*_proj')).toBe(true);
    expect(matchesPattern(P, 'model.*.gate_proj')).toBe(false);
    expect(matchesPattern(P, 'model.**.gate_proj')).toBe(true);
    expect(matchesPattern(P, 'model.layers.?.mlp.gate_proj')).toBe(true);
    expect(matchesPattern('model.layers.10.mlp.gate_proj', 'model.layers.?.mlp.gate_proj')).toBe(false);
    expect(matchesPattern(P, 'model.layers.*.self_attn.*')).toBe(false);
  });

  it('a RegExp must match the whole path (re.fullmatch)', () => {
    expect(matchesPattern(P, /.*\.(gate|up)_proj/)).toBe(true);
    expect(matchesPattern(P, /gate_proj/)).toBe(false);
    expect(matchesPattern(P, /model\.layers\.[01]\.mlp\..*/)).toBe(true);
    expect(matchesPattern('model.layers.2.mlp.gate_proj', /model\.layers\.[01]\.mlp\..*/)).toBe(false);
    expect(matchesPattern(P, /.*GATE_PROJ/i)).toBe(true);
  });

  it('never matches the root module', () => {
    expect(matchesPattern('', /.*/)).toBe(false);
  });
});

describeBackends(
  'resolveTargets',
  () => {
    const cfg = (targetModules: unknown, extra: object = {}) =>
      ({ ...LORA_DEFAULTS, targetModules, ...extra }) as Parameters<typeof resolveTargets>[1];

    it('selects Linear modules in module order and reports patterns that match nothing', () => {
      const m = new ToyLlama();
      const r = resolveTargets(m, cfg(['gate_proj', 'down_proj', 'k_proj', /nothing/]));
      expect(r.targets.map(([p]) => p)).toEqual([
        'model.layers.0.mlp.gate_proj',
        'model.layers.0.mlp.down_proj',
        'model.layers.1.mlp.gate_proj',
        'model.layers.1.mlp.down_proj',
      ]);
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toContain('"k_proj", /nothing/');
      expect(r.problems[0]).toContain('model.layers.0.self_attn.q_proj');
      m.dispose();
    });

    it('rejects non-Linear targets, applies excludes, and handles all-linear without lm_head', () => {
      const m = new ToyLlama();
      const bad = resolveTargets(m, cfg(['mlp']));
      expect(bad.problems.join()).toMatch(/not Linear.*model\.layers\.0\.mlp \(ToyMLP\)/);
      const ex = resolveTargets(m, cfg('*_proj', { excludeModules: [/model\.layers\.1\..*/, 'v_proj'] }));
      expect(ex.targets.map(([p]) => p)).toEqual([
        'model.layers.0.self_attn.q_proj',
        'model.layers.0.mlp.gate_proj',
        'model.layers.0.mlp.up_proj',
        'model.layers.0.mlp.down_proj',
      ]);
      const all = resolveTargets(m, cfg('all-linear'));
      expect(all.targets).toHaveLength(10);
      expect(all.targets.some(([p]) => p === 'lm_head')).toBe(false);
      const saved = resolveTargets(m, cfg(['up_proj'], { modulesToSave: ['lm_head', 'missing_head'] }));
      expect(saved.saved.map(([p]) => p)).toEqual(['lm_head']);
      expect(saved.problems).toEqual(['modulesToSave that match no module: "missing_head"']);
      const overlap = resolveTargets(m, cfg(['up_proj'], { modulesToSave: ['up_proj'] }));
      expect(overlap.problems.join()).toMatch(/overlaps a LoRA target/);
      m.dispose();
    });
  },
  { only: ['cpu'], exclude: {} },
);
