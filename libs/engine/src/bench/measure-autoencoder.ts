// Images/s of the MNIST-shaped conv autoencoder (batch 32: conv 32 -> pool -> conv 64 -> pool ->
// two conv2dTranspose) on wasm with our kernels (each Conv2DBackpropInput choice),
// and on stock cpu; then the two Conv2DBackpropInput implementations alone.
//   node tools/build.mjs libs && node dist/libs/engine/src/bench/measure-autoencoder.js [--steps 10] [--cpu-steps 1]
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BackpropInputImpl, registerWasmTrainingKernels, useConv2DBackpropInput } from '../kernels/register-wasm-kernels';
import { buildConvAutoencoder, syntheticImages } from './conv-autoencoder';

const BATCH = 32;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function imagesPerSecond(backend: string, steps: number, warmup: number): Promise<{ ips: number; loss: number }> {
  await tf.setBackend(backend);
  const model = buildConvAutoencoder({ encoder: [32, 64], decoder: 32 });
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const images = syntheticImages(BATCH);
  let loss = NaN;
  // The first steps pay for XNNPACK operator creation and JIT warm-up; they are not the rate.
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(images, images);
  const started = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) loss = (await model.trainOnBatch(images, images)) as number;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  images.dispose();
  model.dispose();
  optimizer.dispose();
  return { ips: (steps * BATCH) / seconds, loss };
}

async function backpropInputMs(impl: BackpropInputImpl, dyShape: number[], filterShape: number[], inputShape: number[], stride: number) {
  useConv2DBackpropInput(impl);
  await tf.setBackend('wasm');
  const dy = tf.randomNormal(dyShape);
  const filter = tf.randomNormal(filterShape);
  const once = () => tf.dispose(tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { strides: stride, pad: 'same', dataFormat: 'NHWC', inputShape }));
  once();
  const reps = 20;
  const started = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) once();
  tf.dispose([dy, filter]);
  return Number(process.hrtime.bigint() - started) / 1e6 / reps;
}

async function main(): Promise<void> {
  const steps = flag('steps', 10);
  const cpuSteps = flag('cpu-steps', 1);
  registerWasmTrainingKernels();
  const lines = [`conv autoencoder, batch ${BATCH}, Adam, MSE (node ${process.version}, tfjs ${tf.version.tfjs})`];
  // The first model measured pays for process warm-up; a throwaway run takes that cost.
  await imagesPerSecond('wasm', 2, 2);
  const rates: Partial<Record<BackpropInputImpl, number>> = {};
  for (const impl of ['stock', 'conv2d', 'auto'] as const) {
    useConv2DBackpropInput(impl);
    rates[impl] = (await imagesPerSecond('wasm', steps, 2)).ips;
    lines.push(`  wasm, Conv2DBackpropInput '${impl}':${' '.repeat(7 - impl.length)} ${rates[impl]?.toFixed(1)} images/s (${steps} steps)`);
  }
  const ours = { ips: rates.auto ?? NaN };
  if (cpuSteps > 0) {
    const cpu = await imagesPerSecond('cpu', cpuSteps, 0);
    lines.push(`  cpu (stock tfjs):                  ${cpu.ips.toFixed(2)} images/s (${cpuSteps} step${cpuSteps > 1 ? 's' : ''})`);
    lines.push(`  speed-up wasm/cpu:                 ${(ours.ips / cpu.ips).toFixed(0)}x`);
  }
  lines.push("Conv2DBackpropInput alone on wasm, ms per call ('conv2d' / 'stock'):");
  const shapes: Array<[string, number[], number[], number[], number]> = [
    ['decoder 7x7x64 -> 14x14x32, s2', [BATCH, 7, 7, 64], [3, 3, 32, 64], [BATCH, 14, 14, 32], 2],
    ['decoder 14x14x32 -> 28x28x1, s2', [BATCH, 14, 14, 32], [3, 3, 1, 32], [BATCH, 28, 28, 1], 2],
    ['encoder dx 14x14x64 -> 14x14x32, s1', [BATCH, 14, 14, 64], [3, 3, 32, 64], [BATCH, 14, 14, 32], 1],
  ];
  for (const [name, dy, filter, input, stride] of shapes) {
    const a = await backpropInputMs('conv2d', dy, filter, input, stride);
    const b = await backpropInputMs('stock', dy, filter, input, stride);
    lines.push(`  ${name.padEnd(38)} ${a.toFixed(2)} / ${b.toFixed(2)}  (${(b / a).toFixed(1)}x)`);
  }
  useConv2DBackpropInput('auto');
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
