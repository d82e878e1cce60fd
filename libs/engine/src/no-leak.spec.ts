import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { EVERY_KERNEL_INPUT, everyKernelModel } from './every-kernel-model.testing';
import { registerWasmTrainingKernels } from './kernels/register-wasm-kernels';

// 20 epochs of a tiny model that runs every kernel we register must leave the live tensor count
// where the first epoch left it (Adam's moments exist from then on). RSS is in the benchmark output.
test('20 epochs on wasm keep tf.memory().numTensors flat', async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  const model = everyKernelModel();
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
  const x = tf.randomUniform([8, ...EVERY_KERNEL_INPUT], 0, 1, 'float32', 3);
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
