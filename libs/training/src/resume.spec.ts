import * as tf from '@tensorflow/tfjs';
import { PretrainSpecSchema } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import { filesToModelArtifacts } from '@trainyard/storage';
import { BATCH_LOSS_METRIC } from './epoch-loop';
import { runPretrain } from './pretrain';
import type { TrainingCheckpoint, TrainingHooks, TrainingMetricPoint } from './training-hooks';
import { parseTrainingState, type ResumeFrom } from './training-state';

// In-process and exact: a resumed run must retrace the uninterrupted one batch for batch (the
// autoencoder has no dropout, the shuffles are seeded, wasm runs single-threaded).
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

// 32 images, 8 held out → 24 / batch 4 = 6 steps per epoch.
const spec = PretrainSpecSchema.parse({
  kind: 'pretrain',
  name: 'resume',
  dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 8, testPerClass: 2 },
  model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4, 8], latentDim: 8 },
  training: { epochs: 3, batchSize: 4, learningRate: 0.01, validationSplit: 0.25, seed: 5 },
  checkpoint: { everyEpochs: 1 },
});
const data = loadDataset(spec.dataset, { seed: 5, labeled: false });

async function train(opts: { resume?: ResumeFrom; preemptAfterBatches?: number } = {}) {
  const metrics: TrainingMetricPoint[] = [];
  const checkpoints: TrainingCheckpoint[] = [];
  let batches = 0;
  const hooks: TrainingHooks = {
    onProgress: () => undefined,
    onMetrics: (points) => {
      metrics.push(...points);
      batches += points.filter((p) => p.name === BATCH_LOSS_METRIC).length;
    },
    onCheckpoint: async (c) => {
      checkpoints.push(c);
    },
    shouldStop: () => false,
    shouldPreempt: () => batches >= (opts.preemptAfterBatches ?? Infinity),
  };
  const outcome = await runPretrain(data, spec, hooks, { sampleEverySteps: 1, resume: opts.resume });
  const steps = metrics.filter((m) => m.name === BATCH_LOSS_METRIC).map((m) => m.step);
  const epochLoss = metrics.filter((m) => m.name === 'loss').map((m) => [m.epoch, m.value]);
  return { outcome, checkpoints, steps, epochLoss };
}

function resumeFrom(c: TrainingCheckpoint): ResumeFrom {
  const { epoch, nextBatch, epochTotals } = parseTrainingState(c.files['state.json']);
  return { epoch, nextBatch, epochTotals, files: c.files };
}

/** The autoencoder's weights and optimizer state as saved in a checkpoint, by name. */
function saved(c: TrainingCheckpoint): Record<string, number[]> {
  const artifacts = filesToModelArtifacts('autoencoder', c.files);
  const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const out = Object.fromEntries(artifacts.weightSpecs!.map((s) => [`${s.group ?? 'model'}:${s.name}`, Array.from(tensors[s.name].dataSync())]));
  tf.dispose(Object.values(tensors));
  return out;
}

function maxDifference(a: Record<string, number[]>, b: Record<string, number[]>): number {
  const modelKeys = (r: Record<string, number[]>) => Object.keys(r).filter((k) => k.startsWith('model:')).sort();
  expect(modelKeys(a)).toEqual(modelKeys(b));
  return Math.max(...modelKeys(a).flatMap((k) => a[k].map((v, i) => Math.abs(v - b[k][i]))));
}

describe('resume', () => {
  let full: Awaited<ReturnType<typeof train>>;
  beforeAll(async () => {
    full = await train();
  });

  it('continues from an epoch checkpoint with the optimizer state: same steps, same weights', async () => {
    expect(full.outcome.status).toBe('completed');
    expect(full.checkpoints.map((c) => [c.epoch, c.step, c.nextBatch, c.reason])).toEqual([
      [1, 5, 0, 'interval'],
      [2, 11, 0, 'interval'],
      [3, 17, 0, 'final'],
    ]);
    expect(full.checkpoints[0].metric).toEqual({ name: 'val_loss', value: expect.any(Number) });
    // includeOptimizer saved Adam's iteration count and both moments of every trainable weight.
    const first = saved(full.checkpoints[0]);
    expect(first['optimizer:iter']).toEqual([6]);
    expect(Object.keys(first).filter((k) => k.startsWith('optimizer:')).length).toBe(
      1 + 2 * Object.keys(first).filter((k) => k.startsWith('model:')).length,
    );

    const resumed = await train({ resume: resumeFrom(full.checkpoints[0]) });
    expect(resumed.outcome.status).toBe('completed');
    expect(resumed.steps).toEqual(full.steps.slice(6));
    expect(resumed.checkpoints.map((c) => [c.epoch, c.step])).toEqual([
      [2, 11],
      [3, 17],
    ]);
    expect(saved(resumed.checkpoints[1])['optimizer:iter']).toEqual([18]);
    // A fresh Adam would take full learning-rate steps and land far away; restored, it retraces.
    expect(maxDifference(saved(resumed.checkpoints[1]), saved(full.checkpoints[2]))).toBeLessThan(1e-4);
    expect(resumed.epochLoss[0][1]).toBeCloseTo(full.epochLoss[1][1], 5);
  });

  it('preempts mid-epoch with a checkpoint there, and the resume trains exactly the rest', async () => {
    // From the same start as the uninterrupted run (initializers are unseeded), preempted two
    // batches into epoch 2: steps 6 and 7 done.
    const cut = await train({ resume: resumeFrom(full.checkpoints[0]), preemptAfterBatches: 2 });
    expect(cut.outcome).toEqual({ status: 'preempted' });
    const last = cut.checkpoints.at(-1)!;
    expect([last.epoch, last.step, last.nextBatch, last.reason, last.metric]).toEqual([1, 7, 2, 'preempt', undefined]);
    expect(parseTrainingState(last.files['state.json'])).toMatchObject({ epoch: 1, step: 7, nextBatch: 2, metric: null });

    const rest = await train({ resume: resumeFrom(last) });
    expect(rest.outcome.status).toBe('completed');
    expect(rest.steps).toEqual(full.steps.slice(8));
    expect([...full.steps.slice(0, 6), ...cut.steps, ...rest.steps]).toEqual(full.steps);
    expect(maxDifference(saved(rest.checkpoints.at(-1)!), saved(full.checkpoints[2]))).toBeLessThan(1e-4);
    // Epoch 2's mean loss covers its batches from both attempts.
    expect(rest.epochLoss[0][0]).toBe(2);
    expect(rest.epochLoss[0][1]).toBeCloseTo(full.epochLoss[1][1], 5);
  });

  it('ends preempted without a checkpoint when nothing was trained since the last one', async () => {
    const resumed = await train({ resume: resumeFrom(full.checkpoints[1]), preemptAfterBatches: 0 });
    expect(resumed.outcome).toEqual({ status: 'preempted' });
    expect(resumed.checkpoints).toEqual([]);
    expect(resumed.steps).toEqual([]);
  });
});
