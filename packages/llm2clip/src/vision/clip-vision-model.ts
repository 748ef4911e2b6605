import { LayerNorm, Linear, Module, type Rng, tf } from '@mmesid/tensor';
import { ClipEncoderLayer } from './clip-encoder-layer.js';
import { type ClipVisionConfig, clipVisionConfig } from './clip-vision-config.js';
import { ClipVisionEmbeddings } from './clip-vision-embeddings.js';

/** HF `CLIPVisionTransformer`: embeddings, `pre_layrnorm`, encoder layers, `post_layernorm` on the class token. */
class ClipVisionTransformer extends Module {
  readonly embeddings: ClipVisionEmbeddings;
  readonly preLayrnorm: LayerNorm;
  readonly layers: ClipEncoderLayer[] = [];
  readonly postLayernorm: LayerNorm;

  constructor(config: ClipVisionConfig, init: { rng?: Rng; skipInit?: boolean }) {
    super();
    const eps = config.layerNormEps;
    this.embeddings = this.setModule('embeddings', new ClipVisionEmbeddings(config, init));
    // Sic: Hugging Face spells it "pre_layrnorm", and the checkpoints follow.
    this.preLayrnorm = this.setModule('pre_layrnorm', new LayerNorm(config.hiddenSize, { eps }));
    const encoder = this.setModule('encoder', new Module());
    const layers = encoder.setModule('layers', new Module());
    for (let i = 0; i < config.numHiddenLayers; i++)
      this.layers.push(layers.setModule(String(i), new ClipEncoderLayer(config, init)));
    this.postLayernorm = this.setModule('post_layernorm', new LayerNorm(config.hiddenSize, { eps }));
  }

  /** [B, C, H, W] -> { lastHiddenState [B, S, D], pooled [B, D] (post-LN class token) }. */
  forward(pixels: tf.Tensor): { lastHiddenState: tf.Tensor3D; pooled: tf.Tensor2D } {
    return tf.tidy(() => {
      let h: tf.Tensor = this.preLayrnorm.forward(this.embeddings.forward(pixels));
      for (const l of this.layers) h = l.forward(h);
      const [b, , d] = h.shape as [number, number, number];
      const cls = tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, d]), [b, d]);
      return { lastHiddenState: h as tf.Tensor3D, pooled: this.postLayernorm.forward(cls) as tf.Tensor2D };
    });
  }
}

/**
 * CLIP's ViT image tower with its projection, as Hugging Face `CLIPVisionModelWithProjection` (and
 * the vision half of `CLIPModel` / LLM2CLIP's model): parameter names are exactly the checkpoint's
 * (`vision_model.embeddings.patch_embedding.weight`, `vision_model.encoder.layers.0.self_attn.q_proj.weight`,
 * ..., `visual_projection.weight`), so `loadStateDict` takes a checkpoint as is.
 *
 * Input: pixel values [B, 3, S, S] already preprocessed (see `preprocessClipImage`).
 * Output: `forward` returns image embeddings [B, projectionDim], not normalised (like `get_image_features`).
 * The caller disposes what `forward` returns; `dispose()` frees the weights.
 *
 * Random init (`{ rng }`) is for tests and tiny configs; real use loads weights (`{ skipInit: true }`
 * then `loadClipVisionWeights`).
 *
 * @see MME-SID Sec. 3.1 (visual embeddings from LLM2CLIP's vision encoder)
 * @example
 * const model = new ClipVisionModelWithProjection({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2,
 *   numAttentionHeads: 4, imageSize: 28, patchSize: 14, projectionDim: 16 }, { rng: new Rng(0) });
 * const emb = model.forward(pixels); // [B, 16]
 */
export class ClipVisionModelWithProjection extends Module {
  readonly config: ClipVisionConfig;
  readonly visionModel: ClipVisionTransformer;
  readonly visualProjection: Linear;

  constructor(config: Partial<ClipVisionConfig> = {}, init: { rng?: Rng; skipInit?: boolean } = {}) {
    super();
    this.config = clipVisionConfig(config);
    this.visionModel = this.setModule('vision_model', new ClipVisionTransformer(this.config, init));
    this.visualProjection = this.setModule(
      'visual_projection',
      new Linear(this.config.hiddenSize, this.config.projectionDim, { ...init, bias: false }),
    );
  }

  /** [B, C, S, S] -> [B, projectionDim]. */
  forward(pixels: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const { pooled } = this.visionModel.forward(pixels);
      return this.visualProjection.forward(pooled) as tf.Tensor2D;
    });
  }

  /** [B, C, S, S] -> last hidden state [B, 1 + patches, hidden] and the pooled (post-LN) class token. */
  forwardHidden(pixels: tf.Tensor): { lastHiddenState: tf.Tensor3D; pooled: tf.Tensor2D } {
    return this.visionModel.forward(pixels);
  }

  /** Multiply-adds for one image (matmuls only; norms, softmax and activations are O(S*D) and left out). */
  macsPerImage(): number {
    const c = this.config;
    const s = (c.imageSize / c.patchSize) ** 2 + 1;
    const d = c.hiddenSize;
    const patch = (s - 1) * c.numChannels * c.patchSize ** 2 * d;
    const perLayer = 4 * s * d * d + 2 * s * s * d + 2 * s * d * c.intermediateSize;
    return patch + c.numHiddenLayers * perLayer + d * c.projectionDim;
  }
}
