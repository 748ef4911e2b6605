// Node resolve hook for the repository's scripts (examples, benchmarks, CLIs), which run TypeScript
// source with tsx: see tsx-hooks.mjs. @mmesid/tensor's source deep-imports tfjs-core's ES-module
// build (`@tensorflow/tfjs-core/dist/register_all_gradients`), whose files import their siblings
// without a file extension (`./gradients/Abs_grad`), which Node's ESM resolver (and tsx) refuse.
// This retries such an import inside @tensorflow/* with `.js` (`./gradients` is both a folder and
// the module gradients.js there).
// Published builds do not need it: tensor's dist bundles those registrations.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const code = error?.code;
    const retry =
      (code === 'ERR_UNSUPPORTED_DIR_IMPORT' || code === 'ERR_MODULE_NOT_FOUND') &&
      !/\.[cm]?js$/.test(specifier) &&
      (specifier.startsWith('@tensorflow/') ||
        (specifier.startsWith('.') && context.parentURL?.includes('/@tensorflow/')));
    if (!retry) throw error;
    return next(`${specifier}.js`, context);
  }
}
