import type { Options } from 'tsup';
export declare function preset(overrides?: Options): ReturnType<typeof import('tsup').defineConfig>;
