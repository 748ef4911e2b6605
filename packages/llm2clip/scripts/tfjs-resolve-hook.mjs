// Node ESM resolve hook, for the benchmark only. @mmesid/tensor imports tfjs-core's ESM build by
// deep paths whose own relative imports have no file extension (`./gradients`); vitest accepts
// that, Node's ESM resolver (used by tsx) does not. Inside @tensorflow/* only, an extensionless
// relative import that fails is retried as `<specifier>.js`.
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
