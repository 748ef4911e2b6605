// `node --import ./bench/register-resolve.mjs`: installs tfjs-esm-resolve.mjs (see there) for the
// example script.
import { register } from 'node:module';

register('./tfjs-esm-resolve.mjs', import.meta.url);
