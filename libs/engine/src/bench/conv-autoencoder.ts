import * as tf from '@tensorflow/tfjs';

export interface ConvAutoencoderShape {
  /** Filters of the two conv + max-pool encoder stages. */
  encoder: [number, number];
  /** Width of a dense bottleneck between encoder and decoder; none when omitted. */
  dense?: number;
  /** Filters of the first transposed conv (the second produces the image). */
  decoder: number;
}

/**
 * The MNIST-shaped conv autoencoder the engine is measured and checked on:
 * 28x28x1 -> conv -> pool -> conv -> pool (7x7) [-> dense -> dense -> 7x7] -> conv2dTranspose
 * s2 -> conv2dTranspose s2 -> 28x28x1. It exercises every kernel training needs: conv2d and
 * its two gradients, max-pool gradients, and conv2dTranspose (whose forward pass is
 * Conv2DBackpropInput). Fixed seeds make the initial weights the same on every backend.
 */
export function buildConvAutoencoder(shape: ConvAutoencoderShape): tf.LayersModel {
  let seed = 1;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const [f1, f2] = shape.encoder;
  const input = tf.input({ shape: [28, 28, 1] });
  const conv = (filters: number) =>
    tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() });
  const pool = () => tf.layers.maxPooling2d({ poolSize: 2 });
  let h = pool().apply(conv(f2).apply(pool().apply(conv(f1).apply(input)))) as tf.SymbolicTensor; // 7x7xf2
  let depth = f2;
  if (shape.dense) {
    depth = 8;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: shape.dense, activation: 'relu', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: 7 * 7 * depth, activation: 'relu', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.reshape({ targetShape: [7, 7, depth] }).apply(h) as tf.SymbolicTensor;
  }
  const up = (filters: number, activation: 'relu' | 'sigmoid') =>
    tf.layers.conv2dTranspose({ filters, kernelSize: 3, strides: 2, padding: 'same', activation, kernelInitializer: init() });
  h = up(shape.decoder, 'relu').apply(h) as tf.SymbolicTensor; // 14x14
  const output = up(1, 'sigmoid').apply(h) as tf.SymbolicTensor; // 28x28x1
  return tf.model({ inputs: input, outputs: output });
}

/** Deterministic images in [0, 1): smooth blobs rather than noise, so the loss can fall. */
export function syntheticImages(count: number, seed = 7): tf.Tensor4D {
  return tf.tidy(() => {
    const coords = tf.linspace(0, 1, 28);
    const ys = tf.reshape(coords, [1, 28, 1, 1]);
    const xs = tf.reshape(coords, [1, 1, 28, 1]);
    const centres = tf.randomUniform([count, 1, 1, 2], 0.2, 0.8, 'float32', seed);
    const [cy, cx] = tf.split(centres, 2, 3);
    const d2 = tf.add(tf.square(tf.sub(ys, cy)), tf.square(tf.sub(xs, cx)));
    return tf.exp(tf.mul(d2, -40)) as tf.Tensor4D;
  });
}
