import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ConvAutoencoderSchema } from '@trainyard/contracts';
import { registerWasmTrainingKernels } from '@trainyard/engine';
import { buildConvAutoencoder } from '@trainyard/training';
import { blobImages } from './reference-models';

// The end-to-end claim: with our kernels, the wasm backend trains the conv autoencoder a pretrain
// run builds the way tfjs's reference cpu backend does, from the same weights and data.
interface Run {
  losses: number[];
  /** Live tensors after each step: Adam creates its moments on the first, then it must stay flat. */
  tensors: number[];
  ms: number;
}

const spec = ConvAutoencoderSchema.parse({
  type: 'conv-autoencoder',
  inputShape: [28, 28, 1],
  filters: [8, 16],
  latentDim: 32,
});

async function trainOn(backend: string, steps: number): Promise<Run> {
  await tf.setBackend(backend);
  const { autoencoder: model } = buildConvAutoencoder(spec, 1);
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const images = blobImages(2, 28, 1);
  const run: Run = { losses: [], tensors: [], ms: 0 };
  const started = Date.now();
  for (let i = 0; i < steps; i++) {
    run.losses.push((await model.trainOnBatch(images, images)) as number);
    run.tensors.push(tf.memory().numTensors);
  }
  run.ms = Date.now() - started;
  images.dispose();
  model.dispose();
  optimizer.dispose();
  return run;
}

test('the conv autoencoder of a pretrain run trains on wasm with the losses cpu gives, without leaking', async () => {
  registerWasmTrainingKernels();
  const cpu = await trainOn('cpu', 3);
  const wasm = await trainOn('wasm', 3);
  console.log(
    `autoencoder, 3 steps of batch 2\n  cpu  ${cpu.ms} ms, losses ${cpu.losses.join(', ')}\n  wasm ${wasm.ms} ms, losses ${wasm.losses.join(', ')}`,
  );
  for (let i = 0; i < cpu.losses.length; i++) {
    expect(Math.abs(wasm.losses[i] - cpu.losses[i]) / Math.abs(cpu.losses[i])).toBeLessThan(1e-3);
  }
  expect(wasm.losses[2]).toBeLessThan(wasm.losses[0]);
  expect(wasm.tensors[2]).toBe(wasm.tensors[1]);
});
