import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * On a machine without a GPU, Dawn (the `webgpu` package) needs a Vulkan driver: Chromium's
 * SwiftShader works. Set its ICD file when the user has not chosen one.
 */
export function setupDawnDefaults(): void {
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && existsSync(icd)) process.env.VK_ICD_FILENAMES = icd;
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = tmpdir();
}
