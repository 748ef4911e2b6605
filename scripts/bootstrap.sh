#!/usr/bin/env bash
# Installs everything this repo needs on a fresh Debian machine with Node 20: Chromium and the
# Vulkan loader (WebGPU on SwiftShader for the webgpu test suites and the browser suite), pnpm at
# the pinned version, and the workspace's dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if [ ! -x /usr/bin/chromium ] || ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  echo "[bootstrap] installing chromium and libvulkan1 (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium libvulkan1 >/dev/null
fi

if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "[bootstrap] installing pnpm@$PNPM_VERSION"
  as_root npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

# Opt-in (benchmarks only, not needed by any test): the peers of `pnpm bench`'s speed rows,
# PyTorch 1.13 (Debian's python3-torch) on OpenBLAS (without libopenblas0-pthread it runs on the
# reference BLAS, ~30x slower on matmuls: a meaningless peer). MMESID_BENCH_PEERS=1 to install.
if [ "${MMESID_BENCH_PEERS:-0}" = 1 ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "[bootstrap] installing python3-torch libopenblas0-pthread python3-numpy (apt, MMESID_BENCH_PEERS=1)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    python3-torch libopenblas0-pthread python3-numpy >/dev/null
fi

# The optional native matmul path (@mmesid/blas-native: OpenBLAS sgemm as an N-API addon, built
# with the system C compiler against Node's headers in /usr/include/node; no node-gyp, no download).
if [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/aarch64-linux-gnu/cblas.h ] || ! command -v cc >/dev/null; then
  echo "[bootstrap] installing gcc libopenblas-dev (apt) for @mmesid/blas-native"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends gcc libc6-dev libopenblas-dev >/dev/null || true
fi

echo "[bootstrap] pnpm install"
pnpm install --frozen-lockfile

# Prints why when it cannot build; @mmesid/tensor then reports the reason and uses XNNPACK.
node packages/blas-native/build.mjs
