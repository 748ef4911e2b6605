/**
 * safetensors I/O for @mmesid/tensor: the public names of this folder.
 *
 * Browser-safe: dtypes, header, decode/encode, in-memory read and write. Node only (they import
 * `node:fs` lazily): `openSafetensors`, `loadSafetensors`, `saveSafetensors`, `openCheckpoint`,
 * `loadCheckpoint`, `saveShardedSafetensors`.
 */

export {
  decodeSafetensor,
  defaultTfDtype,
  type SafetensorsDecodedTensor,
  type SafetensorsDecodeOptions,
  type SafetensorsRawTensor,
  type SafetensorsTfDtype,
} from './decode.js';
export {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_SIZE,
  type SafetensorsDtype,
} from './dtypes.js';
export { encodeSafetensorValues, type SafetensorsFloatDtype, type SafetensorsValues } from './encode.js';
export {
  loadSafetensors,
  openSafetensors,
  type SafetensorsFile,
  type SafetensorsReadOptions,
  type SaveSafetensorsOptions,
  saveSafetensors,
} from './file.js';
export {
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './header.js';
export {
  loadSafetensorsBytes,
  rawToTfTensor,
  readSafetensorsBytes,
  type SafetensorsContents,
} from './read.js';
export {
  loadCheckpoint,
  openCheckpoint,
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_SINGLE_FILE,
  type SafetensorsCheckpoint,
  type SafetensorsCheckpointTensorInfo,
  type SavedSafetensorsCheckpoint,
  type SaveShardedSafetensorsOptions,
  saveShardedSafetensors,
} from './sharded.js';
export {
  type SafetensorsArrayInput,
  type SafetensorsInput,
  type SafetensorsInputs,
  type SafetensorsRawInput,
  type SafetensorsSerializeOptions,
  type SafetensorsTfInput,
  serializeSafetensors,
  serializeSafetensorsAsync,
} from './write.js';
