import type { UserConfig } from 'vitest/config';
export declare function preset(overrides?: UserConfig): UserConfig;
