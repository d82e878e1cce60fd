import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type RunSpecInput, RunSpecSchema } from '@trainyard/contracts';
import { CheckpointStore, filesToModelArtifacts, LocalObjectStore } from '@trainyard/storage';
import type { TrainingProcessHandle } from './start-training-process';
import { collectTrainingProcess } from './testing/collect-training-process';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';

// Needs the compiled training process: `node tools/build.mjs libs` (the test command builds first).
// 64 shapes, 16 held out for validation: 48 / batch 4 = 12 steps per epoch; a step is sampled
// as batch_loss every step (20 samples per epoch by default, capped at one per step).
const PER_EPOCH = 12;
const dataset = { name: 'synthetic-shapes', imageSize: 16, perClass: 16, testPerClass: 2 } as const;
const architecture = { inputShape: [16, 16, 1] as [number, number, 1], filters: [4, 8], latentDim: 8 };
const pretrain: RunSpecInput = {
  kind: 'pretrain',
  name: 'resumable',
  dataset,
  model: { type: 'conv-autoencoder', ...architecture },
  training: { epochs: 4, batchSize: 4, learningRate: 0.01, validationSplit: 0.25, seed: 7 },
  checkpoint: { everyEpochs: 1 },
};

type Input = Omit<TrainingJobInput, 'spec' | 'storage' | 'firstCheckpointSequence'> & {
  spec: RunSpecInput;
  firstCheckpointSequence?: number;
};

describe('resume and preemption in the training process', () => {
  let root: string;
  let store: LocalObjectStore;
  let checkpoints: CheckpointStore;

  async function train(
    input: Input,
    onEvent: (e: TrainingEvent, handle: TrainingProcessHandle) => void = () => undefined,
  ) {
    const { outcome, events, of } = await collectTrainingProcess(
      {
        firstCheckpointSequence: 1,
        ...input,
        spec: RunSpecSchema.parse(input.spec),
        storage: { driver: 'local', root },
      },
      onEvent,
    );
    const points = of('metrics').flatMap((e) => e.points);
    const steps = points.filter((p) => p.name === 'batch_loss').map((p) => p.step);
    const loss = (epoch: number) => points.find((p) => p.name === 'loss' && p.epoch === epoch)?.value;
    return { outcome, events, of, points, steps, loss };
  }

  /** state.json and the optimizer's iteration count of a stored checkpoint. */
  async function stored(uri: string, model = 'autoencoder') {
    const { files } = await checkpoints.read(uri);
    const artifacts = filesToModelArtifacts(model, files);
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    const iterations = tensors.iter.dataSync()[0];
    tf.dispose(Object.values(tensors));
    return { state: JSON.parse(files['state.json'].toString()), iterations };
  }

  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  let runId: string;
  let full: Awaited<ReturnType<typeof train>>;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-resume-'));
    store = new LocalObjectStore(root);
    checkpoints = new CheckpointStore(store);
    runId = randomUUID();
    full = await train({ runId, spec: pretrain });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('skips corrupt newer checkpoints and continues from checkpoint 2 with no jump back', async () => {
    expect(full.outcome).toEqual({ status: 'succeeded' });
    const saved = full.of('checkpoint');
    expect(saved.map((c) => [c.sequence, c.epoch, c.step, c.reason])).toEqual([
      [1, 1, 11, 'interval'],
      [2, 2, 23, 'interval'],
      [3, 3, 35, 'interval'],
      [4, 4, 47, 'final'],
    ]);
    expect(saved[1].metric).toEqual({ name: 'val_loss', value: expect.any(Number) });
    expect((await stored(saved[1].uri)).state).toMatchObject({
      kind: 'pretrain',
      epoch: 2,
      step: 23,
      nextBatch: 0,
      metric: saved[1].metric,
    });

    // 4: a weights file altered after the manifest was written; 3: an upload that never finished.
    const weights = join(root, `runs/${runId}/checkpoints/4/autoencoder/weights.bin`);
    const bytes = await readFile(weights);
    bytes[100] ^= 0xff;
    await writeFile(weights, bytes);
    await store.delete([`runs/${runId}/checkpoints/3/manifest.json`]);
    const candidates = [...saved].reverse().map(({ sequence, uri }) => ({ sequence, uri }));
    const resumed = await train({ runId, spec: pretrain, firstCheckpointSequence: 5, resumeCandidates: candidates });

    expect(resumed.outcome).toEqual({ status: 'succeeded' });
    expect(resumed.of('checkpoint-corrupt')).toEqual([
      { type: 'checkpoint-corrupt', sequence: 4, reason: expect.stringContaining('sha256') },
      { type: 'checkpoint-corrupt', sequence: 3, reason: expect.stringContaining('manifest.json is missing') },
    ]);
    expect(resumed.of('resumed')).toEqual([{ type: 'resumed', sequence: 2, epoch: 2, step: 23 }]);
    expect(resumed.points[0].epoch).toBe(3);
    expect(resumed.steps).toEqual(range(24, 48));
    expect(resumed.of('checkpoint').map((c) => [c.sequence, c.epoch, c.step])).toEqual([
      [5, 3, 35],
      [6, 4, 47],
    ]);
    // Same weights, Adam state and batches: epoch 3 retraces the uninterrupted run bit for bit,
    // far below a fresh start's first epoch.
    expect(resumed.loss(3)).toBe(full.loss(3)!);
    expect(resumed.loss(3)!).toBeLessThan(full.loss(1)! * 0.8);
    expect((await stored(resumed.of('checkpoint')[1].uri)).iterations).toBe(4 * PER_EPOCH);
  });

  it('preempts mid-epoch with a checkpoint there; the resume trains only the batches left', async () => {
    const id = randomUUID();
    const cut = await train({ runId: id, spec: pretrain }, (e, handle) => {
      // Early in epoch 2, so the training (which runs on meanwhile) stops well before its end.
      if (e.type === 'metrics' && e.points.some((p) => p.name === 'batch_loss' && p.step === PER_EPOCH + 1))
        handle.preempt();
    });
    expect(cut.outcome).toEqual({ status: 'preempted' });
    expect(cut.events.some((e) => e.type === 'result')).toBe(false);
    const [first, last] = cut.of('checkpoint');
    expect(first).toMatchObject({ sequence: 1, epoch: 1, reason: 'interval' });
    expect(last).toMatchObject({ sequence: 2, epoch: 1, reason: 'preempt', step: cut.steps.at(-1) });
    expect(last.metric).toBeUndefined();
    const { state, iterations } = await stored(last.uri);
    expect(state.nextBatch).toBeGreaterThan(0);
    expect(last.step).toBe(PER_EPOCH + state.nextBatch - 1);
    expect(iterations).toBe(last.step + 1);
    expect(cut.of('progress').some((p) => p.progress.phase === 'checkpointing')).toBe(true);

    const rest = await train({
      runId: id,
      spec: pretrain,
      firstCheckpointSequence: 3,
      resumeCandidates: [last, first].map(({ sequence, uri }) => ({ sequence, uri })),
    });
    expect(rest.outcome).toEqual({ status: 'succeeded' });
    expect(rest.of('resumed')).toEqual([{ type: 'resumed', sequence: 2, epoch: 1, step: last.step }]);
    expect(rest.steps).toEqual(range(last.step + 1, 4 * PER_EPOCH));
    expect([...cut.steps, ...rest.steps]).toEqual(full.steps);
    expect(rest.of('checkpoint').map((c) => c.sequence)).toEqual([3, 4, 5]);
  });

  it('resumes a fine-tune from its own classifier checkpoint, never reading the base', async () => {
    const id = randomUUID();
    const finetune: RunSpecInput = {
      kind: 'finetune',
      name: 'resumable fine-tune',
      dataset: { ...dataset, labelsPerClass: 12 },
      model: { type: 'classifier', baseRunId: runId, headUnits: 8, dropout: 0 },
      training: { epochs: 2, batchSize: 8, learningRate: 0.01, validationSplit: 0.25, seed: 7 },
    };
    const base = full.of('checkpoint')[1].uri;
    const first = await train({ runId: id, spec: finetune, baseCheckpointUri: base });
    expect(first.outcome).toEqual({ status: 'succeeded' });
    const saved = first.of('checkpoint');
    expect(saved.map((c) => [c.sequence, c.models, c.metric?.name])).toEqual([
      [1, ['classifier'], 'val_accuracy'],
      [2, ['classifier'], 'val_accuracy'],
    ]);

    const again = await train({
      runId: id,
      spec: finetune,
      firstCheckpointSequence: 3,
      // Were the base read, this would fail the run for good.
      baseCheckpointUri: store.uri('runs/gone/checkpoints/1/'),
      resumeCandidates: [{ sequence: 1, uri: saved[0].uri }],
    });
    expect(again.outcome).toEqual({ status: 'succeeded' });
    expect(again.of('resumed')).toEqual([{ type: 'resumed', sequence: 1, epoch: 1, step: saved[0].step }]);
    expect(again.points.every((p) => p.epoch === 2)).toBe(true);
    expect(again.of('checkpoint').map((c) => [c.sequence, c.epoch, c.reason])).toEqual([[3, 2, 'final']]);
    expect((await stored(again.of('checkpoint')[0].uri, 'classifier')).iterations).toBe(2 * (saved[0].step + 1));
    expect(again.of('result')).toHaveLength(1);
  });
});
