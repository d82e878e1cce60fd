import { FinetuneSpecSchema, PretrainSpecSchema } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import { filesToModelArtifacts } from '@trainyard/storage';
import { DivergedError } from './diverged.error';
import { BATCH_LOSS_METRIC } from './epoch-loop';
import { runFinetune } from './finetune';
import { loadModelFromArtifacts } from './model-files';
import { runPretrain } from './pretrain';
import { recordingHooks } from './recording-hooks.testing';

// wasm with the engine's backprop kernels: the stock cpu backend is ~100x slower on convolutions.
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const dataset = { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 4 } as const;
const pretrainSpec = (training: object = {}) =>
  PretrainSpecSchema.parse({
    kind: 'pretrain',
    name: 'tiny',
    dataset,
    model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 8 },
    training: { epochs: 3, batchSize: 8, learningRate: 0.01, validationSplit: 0.25, seed: 1, ...training },
    checkpoint: { everyEpochs: 2 },
  });

describe('runPretrain', () => {
  it('lowers the loss and reports progress, metrics and checkpoints with monotonic steps', async () => {
    const spec = pretrainSpec();
    const data = loadDataset(spec.dataset, { seed: 1, labeled: false });
    const r = recordingHooks();
    const outcome = await runPretrain(data, spec, r, { sampleEverySteps: 1, progressIntervalMs: 0 });
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    expect(outcome.result).toMatchObject({ split: 'test', samples: 16 });
    expect(outcome.result.mse).toBeGreaterThan(0);

    // 32 images, 8 held out for validation → 24 / batch 8 = 3 steps per epoch.
    const steps = r.metrics.filter((m) => m.name === BATCH_LOSS_METRIC).map((m) => m.step);
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const epochLoss = r.metrics.filter((m) => m.name === 'loss');
    expect(epochLoss.map((m) => [m.epoch, m.step])).toEqual([
      [1, 2],
      [2, 5],
      [3, 8],
    ]);
    expect(epochLoss[2].value).toBeLessThan(epochLoss[0].value);
    expect(r.metrics.filter((m) => m.name === 'val_loss')).toHaveLength(3);
    // Under MSE the reconstruction MSE is the loss itself.
    expect(r.series('val_mse')).toEqual(r.series('val_loss'));

    const training = r.progress.filter((p) => p.phase === 'training');
    expect(training.map((p) => p.step)).toEqual([...training.map((p) => p.step)].sort((a, b) => a - b));
    expect(training[0]).toMatchObject({ epochs: 3, stepsPerEpoch: 3 });
    expect(training.at(-1)?.imagesPerSec).toBeGreaterThan(0);

    // everyEpochs 2 → after epoch 2, and the final one after epoch 3; epoch 1 is the best so far, so it is kept too.
    expect(r.checkpoints.map((c) => [c.epoch, c.step, c.reason])).toEqual([
      [1, 2, 'best'],
      [2, 5, 'interval'],
      [3, 8, 'final'],
    ]);
    const last = r.checkpoints[2];
    expect(last.models).toEqual(['autoencoder', 'encoder']);
    expect(Object.keys(last.files).sort()).toEqual([
      'autoencoder/model.json',
      'autoencoder/weights.bin',
      'encoder/model.json',
      'encoder/weights.bin',
      'state.json',
    ]);
    expect(JSON.parse(last.files['state.json'].toString())).toMatchObject({
      epoch: 3,
      step: 8,
      spec: { kind: 'pretrain' },
    });
    const encoder = await loadModelFromArtifacts(filesToModelArtifacts('encoder', last.files));
    expect(encoder.outputs[0].shape).toEqual([null, 8]);
  });

  it('stops between batches when asked, without a result', async () => {
    const spec = pretrainSpec();
    const data = loadDataset(spec.dataset, { seed: 1, labeled: false });
    const r = recordingHooks({ stopAfterPolls: 2 });
    const outcome = await runPretrain(data, spec, r, { sampleEverySteps: 1 });
    expect(outcome).toEqual({ status: 'cancelled' });
    expect(r.metrics.filter((m) => m.name === BATCH_LOSS_METRIC)).toHaveLength(2);
    expect(r.checkpoints).toHaveLength(0);
  });

  it('throws DivergedError when the loss is not finite', async () => {
    const spec = pretrainSpec();
    const data = loadDataset(spec.dataset, { seed: 1, labeled: false });
    data.train.images[5] = NaN;
    await expect(runPretrain(data, spec, recordingHooks())).rejects.toThrow(DivergedError);
    await expect(runPretrain(data, spec, recordingHooks())).rejects.toThrow(/diverged at epoch 1, step \d/);
  });
});

describe('runFinetune', () => {
  it('trains a classifier and reports per-epoch accuracy and a test ClassificationReport', async () => {
    const spec = FinetuneSpecSchema.parse({
      kind: 'finetune',
      name: 'tiny',
      dataset,
      model: { type: 'classifier', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 8, headUnits: 8, dropout: 0.1 },
      training: { epochs: 2, batchSize: 8, learningRate: 0.01, validationSplit: 0.25, seed: 1 },
    });
    const data = loadDataset(spec.dataset, { seed: 1, labeled: true });
    const r = recordingHooks();
    const outcome = await runFinetune(data, spec, null, r);
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    expect(outcome.result.classNames).toEqual(['circle', 'square', 'triangle', 'cross']);
    expect(outcome.result.samples).toBe(16);
    expect(outcome.result.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(16);
    const names = new Set(r.metrics.filter((m) => m.epoch === 2).map((m) => m.name));
    expect(names).toEqual(new Set(['loss', 'accuracy', 'val_loss', 'val_accuracy', BATCH_LOSS_METRIC]));
    expect(r.checkpoints.map((c) => c.models)).toEqual([['classifier'], ['classifier']]);
  });
});
