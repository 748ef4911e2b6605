// The one tfjs instance every @mmesid package uses. Importing tfjs-core alone registers neither
// gradients nor the chained tensor methods (t.reshape(...)), so this module registers both once.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
export type { Tensor, Variable, Rank, DataType, NamedTensorMap } from '@tensorflow/tfjs-core';
