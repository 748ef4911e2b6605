import { Embedding, Module, normal, type Rng, ShapeError, tf } from '@mmesid/tensor';
import type { ClipVisionConfig } from './clip-vision-config.js';

/**
 * Holds the patch-embedding kernel under its Hugging Face name `patch_embedding.weight`, in the conv
 * layout [hidden, channels, patch, patch], so a checkpoint loads without any transposition.
 */
class PatchEmbeddingWeight extends Module {
  readonly weight: tf.Variable;
  constructor(hidden: number, channels: number, patch: number, init: { rng?: Rng }) {
    super();
    const shape = [hidden, channels, patch, patch];
    this.weight = this.param('weight', init.rng ? normal(0.02)(shape, init.rng) : tf.zeros(shape));
  }
}

/**
 * Splits NCHW pixels into non-overlapping p x p patches, row-major over the patch grid, each
 * flattened in (channel, row, column) order: [B, C, H, W] -> [B, (H/p)(W/p), C p p].
 * Only rank-4 reshapes and transposes, so every tfjs backend runs it.
 */
export function patchify(pixels: tf.Tensor, patch: number): tf.Tensor3D {
  const [b, c, h, w] = pixels.shape as [number, number, number, number];
  if (pixels.rank !== 4 || h % patch !== 0 || w % patch !== 0)
    throw new ShapeError(
      `patchify: expected [B, C, H, W] with H and W multiples of ${patch}, got [${pixels.shape}]`,
    );
  const gh = h / patch;
  const gw = w / patch;
  return tf.tidy(() => {
    // [B*C*gh, py, gw, px] -> [B*C*gh, gw, py, px]: the grid row, then the grid column, then the pixel.
    const rowsFirst = tf.transpose(tf.reshape(pixels, [b * c * gh, patch, gw, patch]), [0, 2, 1, 3]);
    // [B, C, gh*gw, py*px] -> [B, gh*gw, C, py*px]
    const perPatch = tf.transpose(tf.reshape(rowsFirst, [b, c, gh * gw, patch * patch]), [0, 2, 1, 3]);
    return tf.reshape(perPatch, [b, gh * gw, c * patch * patch]) as tf.Tensor3D;
  });
}

/**
 * CLIP's vision embeddings: patch embedding, a learned class token in front, learned absolute positions.
 *
 * The patch embedding is the stride-p convolution without bias of HF `CLIPVisionEmbeddings`, computed
 * as patchify + matmul with the kernel reshaped to [hidden, C p p]: the same sums, but trainable and
 * runnable on every backend (tfjs's conv2d wants NHWC and is not on all of them for every shape).
 */
export class ClipVisionEmbeddings extends Module {
  readonly classEmbedding: tf.Variable;
  readonly patchEmbedding: PatchEmbeddingWeight;
  readonly positionEmbedding: Embedding;
  readonly numPatches: number;

  constructor(
    readonly config: ClipVisionConfig,
    init: { rng?: Rng; skipInit?: boolean },
  ) {
    super();
    const c = config;
    this.numPatches = (c.imageSize / c.patchSize) ** 2;
    const rng = init.skipInit ? undefined : init.rng;
    this.classEmbedding = this.param(
      'class_embedding',
      rng ? normal(c.hiddenSize ** -0.5)([c.hiddenSize], rng) : tf.zeros([c.hiddenSize]),
    );
    this.patchEmbedding = this.setModule(
      'patch_embedding',
      new PatchEmbeddingWeight(c.hiddenSize, c.numChannels, c.patchSize, rng ? { rng } : {}),
    );
    this.positionEmbedding = this.setModule(
      'position_embedding',
      new Embedding(this.numPatches + 1, c.hiddenSize, rng ? { rng, std: 0.02 } : { skipInit: true }),
    );
  }

  /** [B, C, H, W] -> [B, numPatches, hidden]: the patch embedding alone (the conv of HF). */
  patchEmbed(pixels: tf.Tensor): tf.Tensor3D {
    const c = this.config;
    if (
      pixels.rank !== 4 ||
      pixels.shape[1] !== c.numChannels ||
      pixels.shape[2] !== c.imageSize ||
      pixels.shape[3] !== c.imageSize
    )
      throw new ShapeError(
        `CLIP vision: expected pixel values [B, ${c.numChannels}, ${c.imageSize}, ${c.imageSize}], got [${pixels.shape}]`,
      );
    return tf.tidy(() => {
      const patches = patchify(pixels, c.patchSize);
      const [b, n, k] = patches.shape;
      const w = tf.reshape(this.patchEmbedding.weight, [c.hiddenSize, k]);
      return tf.reshape(tf.matMul(tf.reshape(patches, [b * n, k]), w, false, true), [
        b,
        n,
        c.hiddenSize,
      ]) as tf.Tensor3D;
    });
  }

  /** [B, C, H, W] -> [B, 1 + numPatches, hidden]. */
  forward(pixels: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => {
      const patches = this.patchEmbed(pixels);
      const b = patches.shape[0];
      const cls = tf.broadcastTo(tf.reshape(this.classEmbedding, [1, 1, this.config.hiddenSize]), [
        b,
        1,
        this.config.hiddenSize,
      ]);
      const x = tf.concat([cls, patches], 1);
      return tf.add(x, tf.expandDims(this.positionEmbedding.weight, 0)) as tf.Tensor3D;
    });
  }
}
