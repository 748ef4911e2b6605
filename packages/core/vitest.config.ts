import { preset } from '@mmesid/vitest-config';

export default preset();
