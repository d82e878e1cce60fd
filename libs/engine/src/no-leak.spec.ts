import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './kernels/register-wasm-kernels';

// 20 epochs of a tiny model that runs every kernel we register (conv dW in both forms,
// strided dx by phases, depthwise dW/dx, MaxPoolGrad) must leave the live tensor count where
// the first epoch left it (Adam's moments exist from then on). RSS is in the benchmark output.
function tinyModel(): tf.LayersModel {
  let seed = 1;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const input = tf.input({ shape: [12, 12, 2] });
  let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor; // 6x6x4
  h = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', depthwiseInitializer: init() }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'sigmoid', kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

test('20 epochs on wasm keep tf.memory().numTensors flat', async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  const model = tinyModel();
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
  const x = tf.randomUniform([8, 12, 12, 2], 0, 1, 'float32', 3);
  const counts: number[] = [];
  const losses: number[] = [];
  await model.fit(x, x, {
    epochs: 20,
    batchSize: 4,
    shuffle: false,
    verbose: 0,
    callbacks: {
      onEpochEnd: async (_epoch, logs) => {
        counts.push(tf.memory().numTensors);
        losses.push(logs?.loss ?? NaN);
      },
    },
  });
  expect(counts).toHaveLength(20);
  expect(new Set(counts.slice(1)).size).toBe(1);
  expect(counts[19]).toBeLessThanOrEqual(counts[0]);
  expect(losses[19]).toBeLessThan(losses[0]);
  x.dispose();
  model.dispose();
});
