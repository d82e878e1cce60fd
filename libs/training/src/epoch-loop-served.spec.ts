import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchPipeline } from '@trainyard/datasets';
import { runEpochLoop } from './epoch-loop';
import { recordingHooks } from './recording-hooks.testing';

const shape: [number, number, number] = [2, 2, 1];

/** Serves `counts[step]` images per batch (a streamed batch is short when its bad images are left out). */
function servedPipeline(counts: number[]): BatchPipeline & { starts: [number, number, number][] } {
  const starts: [number, number, number][] = [];
  return {
    starts,
    stepsPerEpoch: counts.length,
    async *batches(from: number, to = from + 1, firstStep = 0): AsyncGenerator<Batch> {
      starts.push([from, to, firstStep]);
      for (let epoch = from; epoch < to; epoch++) {
        for (let step = epoch === from ? firstStep : 0; step < counts.length; step++) {
          const count = counts[step];
          yield { x: new Float32Array(count * 4).fill(0.5), y: new Int32Array(count), count, epoch, step };
        }
      }
    },
    ahead: () => 0,
    close: () => Promise.resolve(),
  };
}

describe('runEpochLoop with served (streamed) batches', () => {
  it('trains short batches, skips empty ones, counts their steps and starts a resume where it stopped', async () => {
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: shape }), tf.layers.dense({ units: 1 })] });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const trained: number[] = [];
    const fit = model.trainOnBatch.bind(model);
    model.trainOnBatch = (x, y) => {
      trained.push((x as tf.Tensor).shape[0]);
      return fit(x, y);
    };
    const pipeline = servedPipeline([3, 0, 2]);
    const hooks = recordingHooks();
    const result = await runEpochLoop({
      model,
      metricNames: ['loss'],
      // Only a sample is in memory: the pipeline serves every batch.
      train: { images: new Float32Array(0), labels: new Int32Array(0), count: 0 },
      imageShape: shape,
      plan: { stepsPerEpoch: 3, epochs: 2, totalSteps: 6 },
      batchSize: 3,
      seed: 1,
      pipeline,
      learningRate: () => 0.1,
      targets: (_x, labels) => tf.ones([labels.length, 1]),
      validate: () => Promise.resolve({}),
      checkpointEveryEpochs: 1,
      checkpoint: () => Promise.resolve(1),
      hooks,
      start: { epoch: 0, nextBatch: 2, step: 1 },
      sampleEverySteps: 1,
      progressIntervalMs: 0,
    });
    expect(result.status).toBe('completed');
    expect(pipeline.starts).toEqual([[0, 2, 2]]);
    // Epoch 0 from batch 2 (a resume); epoch 1 whole, its empty batch 1 not trained.
    expect(trained).toEqual([2, 3, 2]);
    expect(hooks.series('batch_loss').map(([, step]) => step)).toEqual([2, 3, 5]);
    expect(hooks.series('loss').map(([epoch, step]) => [epoch, step])).toEqual([
      [1, 2],
      [2, 5],
    ]);
    model.dispose();
  });
});
