import * as tf from '@tensorflow/tfjs';

/**
 * Forward FLOPs per image, counted from layer shapes (2 per multiply-add) for the layers that
 * carry the arithmetic: conv2d, conv2dTranspose, depthwiseConv2d, dense. Pooling, activations
 * and losses are left out (a few percent at most here). A training step is counted as 3×
 * forward (forward, dx, dW), the usual convention; strided-transpose zero insertion or any
 * other wasted work an implementation does is not counted, so GFLOP/s measures useful work.
 */
export function forwardFlopsPerImage(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kernel = layer.getWeights()[0];
    if (!kernel) continue;
    const kernelSize = kernel.shape.reduce((a, b) => a * b, 1);
    const outShape = layer.outputShape as number[];
    const inShape = (layer.input as tf.SymbolicTensor).shape;
    switch (layer.getClassName()) {
      case 'Conv2D':
      case 'DepthwiseConv2D':
        // Each output pixel applies the whole kernel (depthwise: [kh, kw, C, M], one per channel).
        flops += 2 * outShape[1] * outShape[2] * kernelSize;
        break;
      case 'Conv2DTranspose':
        // Each input pixel scatters the whole kernel.
        flops += 2 * (inShape[1] as number) * (inShape[2] as number) * kernelSize;
        break;
      case 'Dense':
        flops += 2 * kernelSize;
        break;
    }
  }
  return flops;
}

export const TRAINING_STEP_FORWARD_MULTIPLE = 3;
