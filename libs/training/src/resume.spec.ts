import * as tf from '@tensorflow/tfjs';
import { type PretrainSpec, PretrainSpecSchema } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import { filesToModelArtifacts } from '@trainyard/storage';
import { BATCH_LOSS_METRIC } from './epoch-loop';
import { runPretrain } from './pretrain';
import { type RecordingHooks, recordingHooks } from './recording-hooks.testing';
import type { TrainingCheckpoint } from './training-hooks';
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

async function train(
  opts: { resume?: ResumeFrom; preemptAfterBatches?: number; spec?: PretrainSpec; earlier?: RecordingHooks } = {},
) {
  const hooks = recordingHooks({ preemptAfterBatches: opts.preemptAfterBatches, earlier: opts.earlier });
  const outcome = await runPretrain(data, opts.spec ?? spec, hooks, { sampleEverySteps: 1, resume: opts.resume });
  const steps = hooks.metrics.filter((m) => m.name === BATCH_LOSS_METRIC).map((m) => m.step);
  const epochLoss = hooks.series('loss').map(([epoch, , value]) => [epoch, value]);
  return { outcome, checkpoints: hooks.checkpoints, steps, epochLoss, hooks };
}

function resumeFrom(c: TrainingCheckpoint & { sequence: number }): ResumeFrom {
  const { epoch, step, nextBatch, epochTotals, tracking, metric } = parseTrainingState(c.files['state.json']);
  return { epoch, step, nextBatch, epochTotals, tracking, metric, sequence: c.sequence, files: c.files };
}

/** The autoencoder's weights and optimizer state as saved in a checkpoint, by name. */
function saved(c: TrainingCheckpoint): Record<string, number[]> {
  const artifacts = filesToModelArtifacts('autoencoder', c.files);
  const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const out = Object.fromEntries(
    artifacts.weightSpecs!.map((s) => [`${s.group ?? 'model'}:${s.name}`, Array.from(tensors[s.name].dataSync())]),
  );
  tf.dispose(Object.values(tensors));
  return out;
}

function maxDifference(a: Record<string, number[]>, b: Record<string, number[]>): number {
  const modelKeys = (r: Record<string, number[]>) =>
    Object.keys(r)
      .filter((k) => k.startsWith('model:'))
      .sort();
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
    // A fresh Adam would take full learning-rate steps and land far away; restored (its beta
    // powers replayed as training multiplied them), it retraces bit for bit.
    expect(maxDifference(saved(resumed.checkpoints[1]), saved(full.checkpoints[2]))).toBe(0);
    expect(resumed.epochLoss[0][1]).toBe(full.epochLoss[1][1]);
  });

  it('preempts mid-epoch with a checkpoint there, and the resume trains exactly the rest', async () => {
    // From the same start as the uninterrupted run (initializers are unseeded), preempted two
    // batches into epoch 2: steps 6 and 7 done.
    const cut = await train({ resume: resumeFrom(full.checkpoints[0]), preemptAfterBatches: 2 });
    expect(cut.outcome).toEqual({ status: 'preempted' });
    const last = cut.checkpoints.at(-1)!;
    expect([last.epoch, last.step, last.nextBatch, last.reason, last.metric]).toEqual([1, 7, 2, 'preempt', undefined]);
    expect(parseTrainingState(last.files['state.json'])).toMatchObject({
      epoch: 1,
      step: 7,
      nextBatch: 2,
      metric: null,
    });

    const rest = await train({ resume: resumeFrom(last) });
    expect(rest.outcome.status).toBe('completed');
    expect(rest.steps).toEqual(full.steps.slice(8));
    expect([...full.steps.slice(0, 6), ...cut.steps, ...rest.steps]).toEqual(full.steps);
    expect(maxDifference(saved(rest.checkpoints.at(-1)!), saved(full.checkpoints[2]))).toBe(0);
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

describe('resume with the validation rules’ memory', () => {
  // reduceOnPlateau halves the rate after every round without a 1.0 improvement of val_loss (none
  // comes), early stopping ends training after two such rounds: epoch 1 sets both references,
  // epochs 2 and 3 count, and training stops after epoch 3 of 5.
  const ruled = PretrainSpecSchema.parse({
    ...spec,
    training: {
      ...spec.training,
      epochs: 5,
      earlyStopping: { patience: 2, minDelta: 1 },
      schedule: { type: 'reduceOnPlateau', patience: 1, minDelta: 1, factor: 0.5 },
    },
  });
  const rates = (run: Awaited<ReturnType<typeof train>>) =>
    run.hooks.series('learning_rate').map(([epoch, , rate]) => [epoch, rate]);
  const position = (run: Awaited<ReturnType<typeof train>>) => {
    if (run.outcome.status !== 'completed') throw new Error(run.outcome.status);
    const { best, last, stoppedEarly } = run.outcome.result.selection!;
    return {
      best: { ...best, sequence: undefined },
      last: { ...last, sequence: undefined },
      stoppedEarly,
      mse: run.outcome.result.mse,
    };
  };
  let full: Awaited<ReturnType<typeof train>>;
  beforeAll(async () => {
    full = await train({ spec: ruled });
  });

  it('stops, lowers the rate and keeps its best exactly where the uninterrupted run did', async () => {
    expect(full.checkpoints.map((c) => [c.epoch, c.step, c.reason])).toEqual([
      [1, 5, 'interval'],
      [2, 11, 'interval'],
      [3, 17, 'final'],
    ]);
    expect(rates(full)).toEqual([
      [1, 0.01],
      [2, 0.01],
      [3, 0.005],
    ]);
    expect(position(full).stoppedEarly).toEqual({ epoch: 3, step: 17 });
    expect(parseTrainingState(full.checkpoints[1].files['state.json']).tracking).toMatchObject({
      earlyStopping: { wait: 1 },
      plateau: { wait: 0, cooldown: 0, scale: 0.5 },
      stoppedEarly: null,
    });

    const resumed = await train({ spec: ruled, resume: resumeFrom(full.checkpoints[0]), earlier: full.hooks });
    expect(resumed.steps).toEqual(full.steps.slice(6));
    expect(rates(resumed)).toEqual(rates(full).slice(1));
    expect(maxDifference(saved(resumed.checkpoints.at(-1)!), saved(full.checkpoints[2]))).toBeLessThan(1e-4);
    expect(position(resumed)).toEqual(position(full));
  });

  it('continues identically from a mid-epoch preemption, and only evaluates from the final checkpoint', async () => {
    const cut = await train({
      spec: ruled,
      resume: resumeFrom(full.checkpoints[1]),
      preemptAfterBatches: 2,
      earlier: full.hooks,
    });
    expect(cut.outcome).toEqual({ status: 'preempted' });
    const rest = await train({ spec: ruled, resume: resumeFrom(cut.checkpoints.at(-1)!), earlier: cut.hooks });
    expect([...full.steps.slice(0, 12), ...cut.steps, ...rest.steps]).toEqual(full.steps);
    expect(maxDifference(saved(rest.checkpoints.at(-1)!), saved(full.checkpoints[2]))).toBeLessThan(1e-4);
    expect(position(rest)).toEqual(position(full));

    const done = await train({ spec: ruled, resume: resumeFrom(full.checkpoints[2]), earlier: full.hooks });
    expect(done.steps).toEqual([]);
    expect(position(done)).toEqual(position(full));
  });

  it('would not: the same resume with fresh rules counts its patience again and trains another epoch', async () => {
    const forgetful = await train({
      spec: ruled,
      resume: { ...resumeFrom(full.checkpoints[0]), tracking: undefined },
      earlier: full.hooks,
    });
    expect(position(forgetful).stoppedEarly).toEqual({ epoch: 4, step: 23 });
  });
});
