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

echo "[bootstrap] pnpm install"
pnpm install --frozen-lockfile
