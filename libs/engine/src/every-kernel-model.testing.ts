import * as tf from '@tensorflow/tfjs';

/** The model's input shape, [height, width, channels]; it reconstructs its input. */
export const EVERY_KERNEL_INPUT = [12, 12, 2] as const;

/**
 * A tiny model whose training step runs every kernel we register for wasm: Conv2DBackpropFilter,
 * Conv2DBackpropInput (stride 1 as the 1×1 and 3×3 convs' dx, stride 2 as conv2dTranspose's
 * forward pass), the depthwise dW and dx, MaxPoolGrad, the bias-gradient Sum and the transposed
 * BatchMatMul (a dense bottleneck's gradients). Fixed seeds give the same starting weights in
 * every process and on every backend.
 */
export function everyKernelModel(): tf.LayersModel {
  let seed = 1;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const input = tf.input({ shape: [...EVERY_KERNEL_INPUT] });
  let h = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() })
    .apply(input) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor; // 6x6x4
  h = tf.layers
    .depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', depthwiseInitializer: init() })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .conv2d({ filters: 8, kernelSize: 1, activation: 'relu', kernelInitializer: init() })
    .apply(h) as tf.SymbolicTensor;
  // A dense bottleneck, as the autoencoders have: its gradients are the transposed matMuls.
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 16, kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .dense({ units: 6 * 6 * 8, activation: 'relu', kernelInitializer: init() })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers.reshape({ targetShape: [6, 6, 8] }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .conv2dTranspose({
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(),
    })
    .apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'sigmoid', kernelInitializer: init() })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}
