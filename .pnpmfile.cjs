// Shapes each package.json as pnpm writes it into a tarball (`pnpm pack`, `pnpm publish`); the
// package.json files in the repo are unchanged. Checked by packages/consumer-tests.
//
// - devDependencies go: a user's npm never installs them, and ours name private workspace
//   packages (@mmesid/tsconfig, @mmesid/test-utils, ...) that do not exist on the registry.
// - `sideEffects` keeps only the paths that are in the tarball (the `./src/*.ts` entries serve
//   bundlers that build the apps from source inside the repo).
module.exports = {
  hooks: {
    beforePacking(pkg) {
      delete pkg.devDependencies;
      if (Array.isArray(pkg.sideEffects)) {
        pkg.sideEffects = pkg.sideEffects.filter((p) => !p.startsWith('./src/'));
      }
      return pkg;
    },
  },
};
