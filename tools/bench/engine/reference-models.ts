import * as tf from '@tensorflow/tfjs';
import { ClassifierSchema, ConvAutoencoderSchema } from '@trainyard/contracts';
import { buildClassifier, buildConvAutoencoder } from '@trainyard/training';

/**
 * The four reference models of the engine benchmark (issue 3), built as a run builds them: the
 * autoencoders by @trainyard/training's buildConvAutoencoder, the classifiers by its
 * buildClassifier, so the benchmark measures what users train. Each is small enough to train on
 * a 2-core machine, and together they exercise every kernel a conv-net training step needs:
 * conv2d and both its gradients, max-pool gradients, conv2dTranspose (whose forward pass is
 * Conv2DBackpropInput), depthwise convs and their gradients, dense + softmax. A fixed training
 * seed makes the initial weights identical on every backend.
 */
export interface ReferenceModel {
  key: string;
  title: string;
  model: tf.LayersModel;
  loss: 'meanSquaredError' | 'categoricalCrossentropy';
  /** Batch of inputs and targets (disposed by the caller). */
  batch(size: number): { x: tf.Tensor4D; y: tf.Tensor };
}

export const MODEL_KEYS = ['mnist-ae', 'finetune', 'rgb-ae', 'mobilenet'] as const;
export type ModelKey = (typeof MODEL_KEYS)[number];

/** The runs' `training.seed`: buildConvAutoencoder and buildClassifier derive every layer's initializer from it. */
const SEED = 1;
/** The encoder of every reference model but MobileNet: two conv blocks, the schema's default latent size. */
const FILTERS = [32, 64];

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

/**
 * The layers that carry the work, in order (conv32-pool-…-convT32 s2-conv1), read from the built
 * model, so a report's title says what was measured even when the training builders change.
 */
export function layerSketch(model: tf.LayersModel): string {
  const parts: string[] = [];
  for (const layer of model.layers) {
    const c = layer.getConfig() as {
      filters?: number;
      units?: number;
      kernelSize?: number | number[];
      strides?: number | number[];
    };
    const k = ([] as number[]).concat(c.kernelSize ?? []);
    const s = ([] as number[]).concat(c.strides ?? [])[0] ?? 1;
    const kernel = k.length && k[0] !== 3 ? ` ${k.join('x')}` : '';
    const stride = s > 1 ? ` s${s}` : '';
    switch (layer.getClassName()) {
      case 'Conv2D':
        parts.push(`conv${c.filters}${kernel}${stride}`);
        break;
      case 'Conv2DTranspose':
        parts.push(`convT${c.filters}${kernel}${stride}`);
        break;
      case 'DepthwiseConv2D':
        parts.push(`dw${k.join('x')}${stride}`);
        break;
      case 'MaxPooling2D':
        parts.push('pool');
        break;
      case 'GlobalAveragePooling2D':
        parts.push('gap');
        break;
      case 'Dense':
        parts.push(`dense${c.units}`);
        break;
    }
  }
  return parts.join('-');
}

function oneHotLabels(count: number, classes: number): tf.Tensor {
  return tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: count }, (_, i) => i % classes),
        'int32',
      ),
      classes,
    ),
  );
}

/** (a) and (c): a pretrain run's model, `{ type: 'conv-autoencoder', inputShape, filters: [32, 64] }`. */
function autoencoder(key: ModelKey, size: number, channels: 1 | 3): ReferenceModel {
  const spec = ConvAutoencoderSchema.parse({
    type: 'conv-autoencoder',
    inputShape: [size, size, channels],
    filters: FILTERS,
  });
  const { autoencoder: model } = buildConvAutoencoder(spec, SEED);
  return {
    key,
    title: `${size}x${size}x${channels} conv-autoencoder (filters [${spec.filters.join(', ')}], latentDim ${spec.latentDim}): ${layerSketch(model)}`,
    model,
    loss: 'meanSquaredError',
    batch: (n) => {
      const x = blobImages(n, size, channels);
      return { x, y: x.clone() };
    },
  };
}

/**
 * (b) A fine-tune run's classifier on the MNIST autoencoder's encoder (same spec, every layer
 * training: freezing 'none'), 10 classes. A pretrained base brings its weights, not other
 * layers, so building the encoder from scratch costs the same per step.
 */
function finetune(): ReferenceModel {
  // The head docs/benchmarks.md measured (the latent cut, no normalisation), so its figures stay comparable.
  const spec = ClassifierSchema.parse({
    type: 'classifier',
    inputShape: [28, 28, 1],
    filters: FILTERS,
    cutAt: 'latent',
    headNorm: 'none',
  });
  const model = buildClassifier({ encoder: null, spec, numClasses: 10, seed: SEED });
  return {
    key: 'finetune',
    title: `28x28x1 classifier (filters [${spec.filters.join(', ')}], latentDim ${spec.latentDim}, 10 classes): ${layerSketch(model)} softmax`,
    model,
    loss: 'categoricalCrossentropy',
    batch: (n) => ({ x: blobImages(n, 28, 1), y: oneHotLabels(n, 10) }),
  };
}

/**
 * (d) A fine-tune of an imported MobileNet-style base: conv 3x3 s2 → three depthwise-separable
 * blocks (depthwise 3x3 + BN-free pointwise 1x1, the second strided) → global average pool, on
 * 32x32x3, as a Keras model exported without its top (`include_top=False, pooling='avg'`)
 * arrives through `importedModel`; buildClassifier puts the run's head (dense10 softmax) on it.
 * The base is built here because @trainyard/training has no builder for imported models (they
 * come as model.json); it is the only model with depthwise convs, which an encoder spec cannot
 * express.
 */
function mobilenet(): ReferenceModel {
  let seed = SEED;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const input = tf.input({ shape: [32, 32, 3] });
  let h = tf.layers
    .conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() })
    .apply(input) as tf.SymbolicTensor;
  for (const [stride, filters] of [
    [1, 64],
    [2, 128],
    [1, 128],
  ]) {
    h = tf.layers
      .depthwiseConv2d({
        kernelSize: 3,
        strides: stride,
        padding: 'same',
        activation: 'relu',
        depthwiseInitializer: init(),
      })
      .apply(h) as tf.SymbolicTensor;
    h = tf.layers
      .conv2d({ filters, kernelSize: 1, activation: 'relu', kernelInitializer: init() })
      .apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const base = tf.model({ inputs: input, outputs: h, name: 'mobilenet_style' });
  const spec = ClassifierSchema.parse({ type: 'classifier', inputShape: [32, 32, 3], headNorm: 'none' });
  const model = buildClassifier({ encoder: base, spec, numClasses: 10, seed: SEED });
  return {
    key: 'mobilenet',
    title: `32x32x3 classifier on a MobileNet-style imported base (10 classes): ${layerSketch(model)} softmax`,
    model,
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
