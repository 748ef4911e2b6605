// Node resolve hook for the benchmark only. @mmesid/tensor deep-imports tfjs-core's ESM build
// (`@tensorflow/tfjs-core/dist/register_all_gradients`), whose files import siblings without a
// file extension (`./gradients`), which Node's ESM resolver (and tsx) refuse. Vitest's resolver
// accepts them; under tsx this retries such a relative import inside @tensorflow/* with `.js`.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const code = error?.code;
    const retry =
      (code === 'ERR_UNSUPPORTED_DIR_IMPORT' || code === 'ERR_MODULE_NOT_FOUND') &&
      specifier.startsWith('.') &&
      !/\.[cm]?js$/.test(specifier) &&
      context.parentURL?.includes('/@tensorflow/');
    if (!retry) throw error;
    return next(`${specifier}.js`, context);
  }
}
