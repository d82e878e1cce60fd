import * as tf from '@tensorflow/tfjs';
import { PretrainSpecSchema } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import { testBestAndLast } from './checkpoint-selection';
import { BATCH_LOSS_METRIC, LEARNING_RATE_METRIC } from './epoch-loop';
import { checkpointFiles } from './model-files';
import { runPretrain } from './pretrain';
import { recordingHooks } from './recording-hooks.testing';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

// 32 shapes, 8 held out for validation → 24 / batch 8 = 3 steps per epoch.
const pretrainSpec = (training: object, checkpoint = { everyEpochs: 5 }) =>
  PretrainSpecSchema.parse({
    kind: 'pretrain',
    name: 'tiny',
    dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 4 },
    model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 8 },
    training: { batchSize: 8, learningRate: 0.01, validationSplit: 0.25, seed: 1, ...training },
    checkpoint,
  });

describe('a steps budget with a schedule', () => {
  it('ends part-way through an epoch, validates and checkpoints there, and reports the scheduled rate', async () => {
    const spec = pretrainSpec({ steps: 7, schedule: { type: 'step', everySteps: 3, factor: 0.5, warmupSteps: 2 } });
    const hooks = recordingHooks();
    const outcome = await runPretrain(loadDataset(spec.dataset, { seed: 1, labeled: false }), spec, hooks, {
      sampleEverySteps: 1,
      progressIntervalMs: 0,
    });
    expect(outcome.status).toBe('completed');
    expect(hooks.metrics.filter((m) => m.name === BATCH_LOSS_METRIC).map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(hooks.series('val_loss').map(([epoch, step]) => [epoch, step])).toEqual([
      [1, 2],
      [2, 5],
      [3, 6],
    ]);
    // The rate of each epoch's last step: 0.01 × 0.5^floor(step / 3).
    expect(hooks.series(LEARNING_RATE_METRIC).map(([, step, rate]) => [step, rate])).toEqual([
      [2, 0.01],
      [5, 0.005],
      [6, 0.0025],
    ]);
    expect(hooks.checkpoints.map((c) => [c.epoch, c.step, c.nextBatch, c.reason])).toEqual([
      [1, 2, 0, 'best'],
      [2, 5, 0, 'best'],
      [3, 6, 0, 'final'],
    ]);
    expect(hooks.progress.find((p) => p.phase === 'training')).toMatchObject({ epochs: 3, stepsPerEpoch: 3 });
    // The budget's own total (7), not epochs × steps per epoch (9): what a share done and an ETA divide by.
    expect(new Set(hooks.progress.map((p) => p.totalSteps))).toEqual(new Set([7]));
  });

  it('reports the total steps of an epochs budget as epochs × batches per epoch', async () => {
    const spec = pretrainSpec({ epochs: 2 });
    const hooks = recordingHooks();
    await runPretrain(loadDataset(spec.dataset, { seed: 1, labeled: false }), spec, hooks, { progressIntervalMs: 0 });
    const training = hooks.progress.filter((p) => p.phase === 'training');
    expect(training.length).toBeGreaterThan(0);
    for (const p of training) expect(p.totalSteps).toBe(2 * p.stepsPerEpoch);
    expect(training.at(-1)!.step + 1).toBe(training.at(-1)!.totalSteps);
  });
});

describe('early stopping in pretraining', () => {
  it('stops after `patience` rounds without a minDelta improvement, with a final checkpoint there', async () => {
    const spec = pretrainSpec({ epochs: 6, earlyStopping: { metric: 'val_mse', patience: 1, minDelta: 1 } });
    const hooks = recordingHooks();
    const outcome = await runPretrain(loadDataset(spec.dataset, { seed: 1, labeled: false }), spec, hooks);
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    expect(hooks.series('val_mse')).toHaveLength(2);
    expect(hooks.checkpoints.map((c) => [c.sequence, c.epoch, c.step, c.reason, c.metric?.name])).toEqual([
      [1, 1, 2, 'best', 'val_mse'],
      [2, 2, 5, 'final', 'val_mse'],
    ]);
    const selection = outcome.result.selection!;
    expect(selection).toMatchObject({
      metric: 'val_mse',
      goal: 'min',
      stoppedEarly: { epoch: 2, step: 5 },
      last: { epoch: 2, step: 5, sequence: 2 },
    });
    // The best is chosen on any improvement (no minDelta): epoch 2's weights, the last ones.
    const [[, , first], [, , second]] = hooks.series('val_mse');
    expect(second).toBeLessThan(first);
    expect(selection.best).toEqual({ epoch: 2, step: 5, sequence: 2, validation: { name: 'val_mse', value: second } });
  });
});

describe('testBestAndLast', () => {
  it('tests the last weights in memory and the best ones as stored in their checkpoint', async () => {
    const model = (value: number) => {
      const m = tf.sequential({
        layers: [
          tf.layers.dense({
            units: 1,
            inputShape: [1],
            name: 'd',
            kernelInitializer: 'zeros',
            biasInitializer: tf.initializers.constant({ value }),
          }),
        ],
      });
      return m;
    };
    const hooks = recordingHooks();
    const stored = model(7);
    await hooks.onCheckpoint({
      epoch: 2,
      step: 9,
      nextBatch: 0,
      reason: 'best',
      files: await checkpointFiles({ net: stored }, {}),
      models: ['net'],
      meta: {},
    });
    const test = async (m: tf.LayersModel) => ({ out: (m.predict(tf.zeros([1, 1])) as tf.Tensor).dataSync()[0] });
    const loop = {
      status: 'completed' as const,
      tracking: {
        best: { value: 0.1, epoch: 2, step: 9, sequence: 1 },
        earlyStopping: null,
        plateau: null,
        stoppedEarly: null,
      },
      last: { epoch: 4, step: 19, sequence: 2, validation: { name: 'val_loss', value: 0.3 } },
    };
    const result = await testBestAndLast(
      loop,
      { metric: 'val_loss', goal: 'min' },
      hooks,
      { model: 'net', test, batch: 256 },
      model(3),
    );
    expect(result).toEqual({
      out: 7,
      selection: {
        metric: 'val_loss',
        goal: 'min',
        best: { epoch: 2, step: 9, sequence: 1, validation: { name: 'val_loss', value: 0.1 } },
        last: { epoch: 4, step: 19, sequence: 2, validation: { name: 'val_loss', value: 0.3 }, test: { out: 3 } },
        stoppedEarly: null,
      },
    });
    // Best and last the same weights: tested once, read from nowhere.
    const same = await testBestAndLast(
      { ...loop, tracking: { ...loop.tracking, best: { ...loop.tracking.best, step: 19, sequence: 2 } } },
      { metric: 'val_loss', goal: 'min' },
      { readCheckpoint: () => Promise.reject(new Error('not read')) },
      { model: 'net', test, batch: 256 },
      model(3),
    );
    expect(same.out).toBe(3);
    expect(same.selection.best).toEqual(loop.last);
  });
});
