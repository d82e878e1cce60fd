// Images/s of the input pipeline next to what the training step consumes, for the same image size.
//   npm run bench:data -- [--images 2000] [--size 64] [--batch 32] [--train-steps 8] [--no-stream]
// then the streamed pipeline at 224×224×3 from an S3 server (data-stream.ts, its own flags).
// Generates a class-per-folder set of PNGs in a temp dir (sharp), loads it cold (decoding) and warm
// (from the disk cache), runs the batch pipeline with and without augmentation on 1 and 2 threads,
// then trains a classifier (buildClassifier, the engine's best backend) on plain and on pipelined batches.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassifierSchema } from '@trainyard/contracts';
import { type BatchSource, createBatchPipeline, type ImageFolderDataset, loadImageFolder } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import { LocalObjectStore } from '@trainyard/storage';
import { buildClassifier } from '@trainyard/training';
import { writeSyntheticImageFolder } from './data-folder';
import { BENCH_AUGMENTATION, numberFlag as flag } from './data-settings';
import { streamBench } from './data-stream';

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;
const rate = (n: number, s: number) => `${(n / s).toFixed(0).padStart(7)} images/s`;

async function pipelineRate(
  source: BatchSource,
  batch: number,
  augment: boolean,
  threads: number,
  epochs: number,
): Promise<number> {
  const pipeline = createBatchPipeline({
    dataset: source,
    batchSize: batch,
    seed: 1,
    augmentation: augment ? BENCH_AUGMENTATION : null,
    threads,
    prefetch: 8,
  });
  try {
    // Epoch 0 warms the threads (startup, JIT); epochs 1.. are the rate.
    for await (const _ of pipeline.batches(0)) void _;
    const started = process.hrtime.bigint();
    let images = 0;
    for await (const b of pipeline.batches(1, 1 + epochs)) images += b.count;
    return images / seconds(started);
  } finally {
    await pipeline.close();
  }
}

async function main(): Promise<void> {
  const count = flag('images', 2000);
  const size = flag('size', 64);
  const batch = flag('batch', 32);
  const trainSteps = flag('train-steps', 8);
  const shape: [number, number, number] = [size, size, 3];
  const dir = await mkdtemp(join(tmpdir(), 'trainyard-bench-data-'));
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  try {
    let started = process.hrtime.bigint();
    await writeSyntheticImageFolder(join(dir, 'images'), count, Math.round(size * 1.5));
    say(
      `${count} PNGs (${Math.round(size * 1.5)}×${Math.round(size * 1.5)} RGB, 4 classes) written in ${seconds(started).toFixed(1)} s; target ${size}×${size}×3, batch ${batch}`,
    );
    const store = new LocalObjectStore(join(dir, 'images'));
    const opts = { imageShape: shape, seed: 1, cacheDir: join(dir, 'cache'), split: { test: 0 } };
    started = process.hrtime.bigint();
    let data: ImageFolderDataset = await loadImageFolder(store, '', opts);
    say(`load, cold cache (sharp decode + resize):  ${rate(count, seconds(started))}  (${data.stats.decoded} decoded)`);
    started = process.hrtime.bigint();
    data = await loadImageFolder(store, '', opts);
    say(`load, warm cache (no decode):              ${rate(count, seconds(started))}  (${data.stats.decoded} decoded)`);
    const source: BatchSource = { ...data.train, imageShape: shape };

    for (const augment of [false, true]) {
      for (const threads of [0, 1, 2]) {
        const epochs = augment ? 1 : 5;
        const ips = await pipelineRate(source, batch, augment, threads, epochs);
        const where =
          threads === 0 ? 'inline (caller thread)' : `${threads} thread${threads > 1 ? 's' : ' '}             `;
        say(`pipeline, ${augment ? 'augmented ' : 'plain     '}, ${where}: ${ips.toFixed(0).padStart(7)} images/s`);
      }
    }

    const engine = await initEngine();
    const tf = engine.tf;
    const spec = ClassifierSchema.parse({ type: 'classifier', inputShape: shape });
    const model = buildClassifier({ encoder: null, spec, numClasses: data.classNames.length });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const step = async (x: Float32Array, y: Int32Array) => {
      const xs = tf.tensor4d(x, [y.length, ...shape]);
      const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), data.classNames.length).toFloat());
      try {
        await model.trainOnBatch(xs, ys);
      } finally {
        tf.dispose([xs, ys]);
      }
    };
    const train = async (augment: boolean, threads: number) => {
      const pipeline = createBatchPipeline({
        dataset: source,
        batchSize: batch,
        seed: 2,
        augmentation: augment ? BENCH_AUGMENTATION : null,
        threads,
        prefetch: 4,
      });
      let images = 0;
      let waited = 0;
      let starved = 0;
      let started = process.hrtime.bigint();
      let done = -2; // two warm-up steps
      try {
        const batches = pipeline.batches(0, 100);
        while (done < trainSteps) {
          const asked = process.hrtime.bigint();
          if (done >= 0 && pipeline.ahead() === 0) starved++;
          const next = await batches.next();
          if (next.done) break;
          if (done >= 0) waited += seconds(asked);
          if (done === 0) started = asked;
          await step(next.value.x, next.value.y);
          if (done >= 0) images += next.value.count;
          done++;
        }
        await batches.return(undefined);
      } finally {
        await pipeline.close();
      }
      return { ips: images / seconds(started), waitedMs: (waited * 1000) / trainSteps, starved };
    };
    const describe = (r: { ips: number; waitedMs: number; starved: number }, threaded = true) =>
      `${r.ips.toFixed(1).padStart(7)} images/s  (waited ${r.waitedMs.toFixed(1)} ms/step for data` +
      (threaded ? `, ${r.starved}/${trainSteps} steps found no batch ready)` : ', assembled on the training thread)');
    say(`training step (${engine.backend}, classifier ${spec.filters.join('-')}/${spec.latentDim}, Adam):`);
    say(`  plain batches, inline:              ${describe(await train(false, 0), false)}`);
    say(`  augmented, inline:                  ${describe(await train(true, 0), false)}`);
    say(`  augmented, pipeline with 1 thread:  ${describe(await train(true, 1))}`);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main()
  .then(() => (process.argv.includes('--no-stream') ? undefined : streamBench()))
  .catch((error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  });
