import * as tf from '@tensorflow/tfjs';
import type { ConvAutoencoderSpec } from '@trainyard/contracts';
import { seededKernels } from './seeded-initializers';

export interface ConvAutoencoder {
  autoencoder: tf.LayersModel;
  /** Shares its layers (and so its weights) with `autoencoder`: image → latent vector. */
  encoder: tf.LayersModel;
}

/** `latentActivation` defaults to 'relu', the original encoder's. */
export type EncoderArchitecture = Pick<ConvAutoencoderSpec, 'inputShape' | 'filters' | 'latentDim'> &
  Partial<Pick<ConvAutoencoderSpec, 'latentActivation'>>;

/** Spatial size after the encoder's pooling blocks ('same' pooling rounds up: 7 → 4). */
export function encodedSize(size: number, blocks: number): number {
  let s = size;
  for (let i = 0; i < blocks; i++) s = Math.ceil(s / 2);
  return s;
}

/**
 * The encoder half: per filter `conv2d(f, 3, same, relu) → maxPooling2d(2, same)` (the last pool
 * is where a 'conv' cut ends), flatten, `dense(latentDim, latentActivation)` named 'latent'.
 * Returns the symbolic input and latent output so the autoencoder (and a classifier) can be built
 * on the same layers.
 */
export function buildEncoderGraph(
  arch: EncoderArchitecture,
  kernel = seededKernels(undefined),
): { input: tf.SymbolicTensor; latent: tf.SymbolicTensor } {
  const input = tf.input({ shape: [...arch.inputShape], name: 'image' });
  let x = input;
  arch.filters.forEach((filters, i) => {
    x = tf.layers
      .conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', name: `enc_conv${i + 1}`, ...kernel() })
      .apply(x) as tf.SymbolicTensor;
    // 'same' pooling keeps odd sizes (7 → 4) so the decoder can crop back instead of padding.
    x = tf.layers
      .maxPooling2d({ poolSize: 2, padding: 'same', name: `enc_pool${i + 1}` })
      .apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.flatten({ name: 'enc_flatten' }).apply(x) as tf.SymbolicTensor;
  const activation = arch.latentActivation ?? 'relu';
  const latent = tf.layers
    .dense({ units: arch.latentDim, activation, name: 'latent', ...kernel() })
    .apply(x) as tf.SymbolicTensor;
  return { input, latent };
}

/** Builds just the encoder (a classifier trained without a pretrained base); `seed` fixes its starting weights. */
export function buildEncoder(arch: EncoderArchitecture, seed?: number): tf.LayersModel {
  const { input, latent } = buildEncoderGraph(arch, seededKernels(seed));
  return tf.model({ inputs: input, outputs: latent, name: 'encoder' });
}

/**
 * Encoder plus a mirrored decoder: dense → reshape → per filter (reversed)
 * `conv2dTranspose(f, 3, strides 2, same, relu)`, a crop when the input size is not a multiple
 * of 2^blocks, and `conv2d(channels, 3, same, sigmoid)` back to the input shape.
 */
export function buildConvAutoencoder(spec: EncoderArchitecture, seed?: number): ConvAutoencoder {
  const kernel = seededKernels(seed);
  const { input, latent } = buildEncoderGraph(spec, kernel);
  const [h, w, channels] = spec.inputShape;
  const blocks = spec.filters.length;
  const eh = encodedSize(h, blocks);
  const ew = encodedSize(w, blocks);
  const last = spec.filters[blocks - 1];
  let x = tf.layers
    .dense({ units: eh * ew * last, activation: 'relu', name: 'dec_dense', ...kernel() })
    .apply(latent) as tf.SymbolicTensor;
  x = tf.layers.reshape({ targetShape: [eh, ew, last], name: 'dec_reshape' }).apply(x) as tf.SymbolicTensor;
  [...spec.filters].reverse().forEach((filters, i) => {
    x = tf.layers
      .conv2dTranspose({
        filters,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name: `dec_deconv${i + 1}`,
        ...kernel(),
      })
      .apply(x) as tf.SymbolicTensor;
  });
  const extraH = eh * 2 ** blocks - h;
  const extraW = ew * 2 ** blocks - w;
  if (extraH > 0 || extraW > 0) {
    const crop: [[number, number], [number, number]] = [
      [Math.floor(extraH / 2), Math.ceil(extraH / 2)],
      [Math.floor(extraW / 2), Math.ceil(extraW / 2)],
    ];
    x = tf.layers.cropping2D({ cropping: crop, name: 'dec_crop' }).apply(x) as tf.SymbolicTensor;
  }
  const output = tf.layers
    .conv2d({
      filters: channels,
      kernelSize: 3,
      padding: 'same',
      activation: 'sigmoid',
      name: 'reconstruction',
      ...kernel(),
    })
    .apply(x) as tf.SymbolicTensor;
  return {
    autoencoder: tf.model({ inputs: input, outputs: output, name: 'autoencoder' }),
    encoder: tf.model({ inputs: input, outputs: latent, name: 'encoder' }),
  };
}
