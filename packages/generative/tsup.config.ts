import { preset } from '@mmesid/tsup-config';

export default preset();
