/**
 * The system Chromium, headless, with WebGPU on SwiftShader's Vulkan (no GPU needed). The one list
 * of flags for every browser check: apps/web's end-to-end test and bench, the consumer tests and
 * the tensor suite's vitest browser config.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, or `CHROMIUM_PATH`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags that turn on WebGPU on SwiftShader in a headless, sandbox-less Chromium. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Why the browser checks cannot run here, or undefined when they can. */
export function chromiumUnavailable(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `no Chromium at ${CHROMIUM_PATH} (install it, e.g. \`apt-get install chromium\`, or set CHROMIUM_PATH)`;
}

/** Starts the browser with {@link CHROMIUM_ARGS}. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true });
}
