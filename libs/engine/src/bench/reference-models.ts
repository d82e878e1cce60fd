import * as tf from '@tensorflow/tfjs';

/**
 * The four reference models of the engine benchmark (issue 3). Each is small enough to train
 * on a 2-core machine, and together they exercise every kernel a conv-net training step needs:
 * conv2d and both its gradients, max-pool gradients, conv2dTranspose (whose forward pass is
 * Conv2DBackpropInput), depthwise convs and their gradients, dense + softmax. Fixed seeds make
 * the initial weights identical on every backend.
 */
export interface ReferenceModel {
  key: string;
  title: string;
  model: tf.LayersModel;
  loss: 'meanSquaredError' | 'categoricalCrossentropy';
  /** Batch of inputs and targets (disposed by the caller). */
  batch(size: number): { x: tf.Tensor4D; y: tf.Tensor };
}

type Init = () => ReturnType<typeof tf.initializers.glorotUniform>;

export const MODEL_KEYS = ['mnist-ae', 'finetune', 'rgb-ae', 'mobilenet'] as const;
export type ModelKey = (typeof MODEL_KEYS)[number];

function seeded(): Init {
  let seed = 1;
  return () => tf.initializers.glorotUniform({ seed: seed++ });
}

/** Deterministic smooth blobs in [0, 1) (not noise, so a reconstruction loss can fall). */
export function blobImages(count: number, size: number, channels: number, seed = 7): tf.Tensor4D {
  return tf.tidy(() => {
    const coords = tf.linspace(0, 1, size);
    const ys = tf.reshape(coords, [1, size, 1, 1]);
    const xs = tf.reshape(coords, [1, 1, size, 1]);
    const cy = tf.randomUniform([count, 1, 1, channels], 0.2, 0.8, 'float32', seed);
    const cx = tf.randomUniform([count, 1, 1, channels], 0.2, 0.8, 'float32', seed + 1);
    const d2 = tf.add(tf.square(tf.sub(ys, cy)), tf.square(tf.sub(xs, cx)));
    return tf.exp(tf.mul(d2, -40)) as tf.Tensor4D;
  });
}

function oneHotLabels(count: number, classes: number): tf.Tensor {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: count }, (_, i) => i % classes), 'int32'), classes));
}

/** conv f1 → pool → conv f2 → pool: the encoder of both autoencoders and of the classifier. */
function encoder(input: tf.SymbolicTensor, init: Init, filters: [number, number]): tf.SymbolicTensor {
  let h = input;
  for (const f of filters) {
    h = tf.layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  }
  return h;
}

/** (a) and (c): encoder → conv2dTranspose 32 s2 → conv2dTranspose `channels` s2 (sigmoid). */
function autoencoder(key: ModelKey, size: number, channels: number): ReferenceModel {
  const init = seeded();
  const input = tf.input({ shape: [size, size, channels] });
  let h = encoder(input, init, [32, 64]);
  const up = (filters: number, activation: 'relu' | 'sigmoid') =>
    tf.layers.conv2dTranspose({ filters, kernelSize: 3, strides: 2, padding: 'same', activation, kernelInitializer: init() });
  h = up(32, 'relu').apply(h) as tf.SymbolicTensor;
  const output = up(channels, 'sigmoid').apply(h) as tf.SymbolicTensor;
  const title = `${size}x${size}x${channels} autoencoder: conv32-pool-conv64-pool-convT32 s2-convT${channels} s2`;
  return {
    key,
    title,
    model: tf.model({ inputs: input, outputs: output }),
    loss: 'meanSquaredError',
    batch: (n) => {
      const x = blobImages(n, size, channels);
      return { x, y: x.clone() };
    },
  };
}

/** (b) The fine-tune classifier: the MNIST autoencoder's encoder, flatten, dense softmax 10. */
function finetune(): ReferenceModel {
  const init = seeded();
  const input = tf.input({ shape: [28, 28, 1] });
  let h = encoder(input, init, [32, 64]);
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  return {
    key: 'finetune',
    title: '28x28x1 classifier: MNIST encoder-flatten-dense10 softmax',
    model: tf.model({ inputs: input, outputs: output }),
    loss: 'categoricalCrossentropy',
    batch: (n) => ({ x: blobImages(n, 28, 1), y: oneHotLabels(n, 10) }),
  };
}

/**
 * (d) MobileNet-style: conv 3x3 s2 → three depthwise-separable blocks (depthwise 3x3 + BN-free
 * pointwise 1x1, the second strided) → global average pool → dense softmax 10, on 32x32x3.
 */
function mobilenet(): ReferenceModel {
  const init = seeded();
  const input = tf.input({ shape: [32, 32, 3] });
  let h = tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() }).apply(input) as tf.SymbolicTensor;
  for (const [stride, filters] of [
    [1, 64],
    [2, 128],
    [1, 128],
  ]) {
    h = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', activation: 'relu', depthwiseInitializer: init() }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters, kernelSize: 1, activation: 'relu', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  return {
    key: 'mobilenet',
    title: '32x32x3 MobileNet-style: conv s2-[dw3x3+pw1x1]x3 (one s2)-gap-dense10',
    model: tf.model({ inputs: input, outputs: output }),
    loss: 'categoricalCrossentropy',
    batch: (n) => ({ x: blobImages(n, 32, 3), y: oneHotLabels(n, 10) }),
  };
}

/** Builds one reference model (under the active backend). */
export function buildReferenceModel(key: ModelKey): ReferenceModel {
  switch (key) {
    case 'mnist-ae':
      return autoencoder(key, 28, 1);
    case 'finetune':
      return finetune();
    case 'rgb-ae':
      return autoencoder(key, 32, 3);
    case 'mobilenet':
      return mobilenet();
  }
}
