import { isVariantName, VARIANTS, type VariantName } from '@mmesid/fusion';
import { ConfigError } from '@mmesid/tensor';

/** How `--variants` spells a variant: `w/o Fusion` as `w/o-Fusion`, every other name as it is. */
export function variantOptionName(variant: string): string {
  return variant === 'w/o Fusion' ? 'w/o-Fusion' : variant;
}

/** Variants whose semantic IDs come from the MSE-reconstruction MM-RQ-VAE (the rqvae-extras stage). */
const MSE_VARIANTS = new Set(['SE-SID-MSE']);

/** Whether some of these `--variants` entries fine-tunes on the MSE twin's semantic IDs. */
export function needsMseTwin(variants: readonly string[]): boolean {
  return variants.some((v) => MSE_VARIANTS.has(v.replace(/:alt$/, '')));
}

/**
 * A `--variants` entry: a variant name (`w/o-Fusion` for `w/o Fusion`), optionally with `:alt` for
 * its alternative reading (e.g. `Concat:alt`, three tokens per item).
 *
 * @throws ConfigError naming the entry and the known names
 */
export function parseVariantOption(entry: string): {
  variant: VariantName;
  reading: 'chosen' | 'alternative';
} {
  const alt = entry.endsWith(':alt');
  const base = alt ? entry.slice(0, -4) : entry;
  const variant = base === 'w/o-Fusion' ? 'w/o Fusion' : base;
  if (!isVariantName(variant))
    throw new ConfigError(
      `--variants: unknown "${entry.slice(0, 80)}"; known: SASRec, ${Object.keys(VARIANTS).join(', ')}, w/o-Fusion (the same without a space; add :alt for an alternative reading), TIGER-MM, TIGER-MM-joint, LETTER, MOTOR`,
    );
  if (alt && !VARIANTS[variant].alternative)
    throw new ConfigError(
      `--variants: "${entry}": ${variant} has one reading; alternatives exist for ${Object.values(VARIANTS)
        .filter((v) => v.alternative)
        .map((v) => v.name)
        .join(', ')}`,
    );
  return { variant, reading: alt ? 'alternative' : 'chosen' };
}
