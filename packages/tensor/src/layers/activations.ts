import { tf } from '../tf.js';

/** Activation functions by the names configs use. All are differentiable tfjs compositions. */
export type ActivationName =
  | 'relu'
  | 'gelu'
  | 'gelu_tanh'
  | 'silu'
  | 'quick_gelu'
  | 'tanh'
  | 'sigmoid'
  | 'identity';

/** Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default `nn.GELU()`). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** GELU with the tanh approximation (`approximate="tanh"`). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
  });
}

/** SiLU / swish, x * sigmoid(x) (Llama's MLP gate). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** CLIP's quick GELU, x * sigmoid(1.702 x). */
export function quickGelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))));
}

export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

/** The activation function for a config name. */
export function activation(name: ActivationName): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'relu':
      return relu;
    case 'gelu':
      return gelu;
    case 'gelu_tanh':
      return geluTanh;
    case 'silu':
      return silu;
    case 'quick_gelu':
      return quickGelu;
    case 'tanh':
      return (x) => tf.tanh(x);
    case 'sigmoid':
      return (x) => tf.sigmoid(x);
    case 'identity':
      return (x) => x;
  }
}
