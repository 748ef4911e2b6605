// The one tfjs instance every @mmesid package uses. Importing tfjs-core alone registers neither
// gradients nor the chained tensor methods (t.reshape(...)), so this module registers both once.
//
// Order matters: the main entry must run first. Under Node-style loaders the main entry and the
// registration modules can come from two copies of tfjs-core (CommonJS and ES module); tfjs keeps
// one global Tensor class, and only the copy whose main entry ran has wired up its op handler
// (used by t.clone(), e.g. in the Cast gradient). Whoever defines the class first must be that copy.
import * as tf from '@tensorflow/tfjs-core';
// biome-ignore format: the order of these side-effect imports is significant (see above)
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

export { tf };
export type { DataType, NamedTensorMap, Rank, Tensor, Variable } from '@tensorflow/tfjs-core';
