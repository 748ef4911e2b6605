// The one Node ESM resolve hook of the repository, for scripts run by plain Node or tsx (benchmarks,
// examples; vitest and vite-node do not need it). @mmesid/tensor deep-imports tfjs-core's ESM build
// (`@tensorflow/tfjs-core/dist/register_all_gradients`), whose files import siblings without a file
// extension (`./gradients`); Node's ESM resolver refuses those. Inside @tensorflow/* only, an
// extensionless relative import that fails is retried as `<specifier>.js`.
// Install it with `register(<path to this file>, import.meta.url)` or `--import register-tfjs-resolve.mjs`.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const inTfjs = context.parentURL?.includes('/@tensorflow/') ?? false;
    const extensionless = specifier.startsWith('.') && !/\.[cm]?js$/.test(specifier);
    const notFound = err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'ERR_UNSUPPORTED_DIR_IMPORT';
    if (inTfjs && extensionless && notFound) return nextResolve(`${specifier}.js`, context);
    throw err;
  }
}
