import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClassificationReport, type RunSpecInput, RunSpecSchema } from '@trainyard/contracts';
import { CheckpointStore, LocalObjectStore } from '@trainyard/storage';
import { startTrainingThread } from './start-training-thread';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';
import type { TrainingOutputLine } from './training-output';

// Needs the compiled thread: `node tools/build.mjs libs` (the test command builds first).
const dataset = { name: 'synthetic-shapes', imageSize: 16, perClass: 40, testPerClass: 10 } as const;
const architecture: { inputShape: [number, number, 1]; filters: number[]; latentDim: number } = {
  inputShape: [16, 16, 1],
  filters: [4, 8],
  latentDim: 16,
};

async function train(input: Omit<TrainingJobInput, 'spec'> & { spec: RunSpecInput }) {
  const events: TrainingEvent[] = [];
  const output: TrainingOutputLine[] = [];
  const handle = startTrainingThread(
    { ...input, spec: RunSpecSchema.parse(input.spec) },
    (e) => {
      events.push(e);
    },
    { onOutput: (line) => output.push(line) },
  );
  return { outcome: await handle.done, events, output, handle };
}

describe('startTrainingThread', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-training-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('pretrains, then fine-tunes from the pretrain checkpoint well above chance', async () => {
    const storage = { driver: 'local', root } as const;
    const pretrainId = randomUUID();
    const pre = await train({
      runId: pretrainId,
      storage,
      firstCheckpointSequence: 1,
      spec: {
        kind: 'pretrain',
        name: 'tiny pretrain',
        dataset,
        model: { type: 'conv-autoencoder', ...architecture },
        training: { epochs: 3, batchSize: 16, learningRate: 0.01, seed: 3 },
        checkpoint: { everyEpochs: 2 },
      },
    });
    expect(pre.outcome).toEqual({ status: 'succeeded' });
    const backend = pre.events.find((e) => e.type === 'backend');
    expect(backend).toMatchObject({ type: 'backend', backend: expect.any(String), detail: expect.any(String) });
    const checkpoints = pre.events.filter((e) => e.type === 'checkpoint');
    expect(checkpoints.map((c) => [c.sequence, c.epoch])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    const last = checkpoints[1];
    expect(last.models).toEqual(['autoencoder', 'encoder']);
    const stored = await new CheckpointStore(new LocalObjectStore(root)).read(last.uri);
    expect(Object.keys(stored.files)).toContain('encoder/weights.bin');
    const result = pre.events.find((e) => e.type === 'result');
    expect(result).toMatchObject({ result: { split: 'test', samples: 40, mse: expect.any(Number) } });
    // 160 images, 16 held out for validation: 144 / 16 = 9 steps per epoch.
    const progress = pre.events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
    expect(progress[0].phase).toBe('loading');
    expect(progress.at(-1)).toMatchObject({ phase: 'done', epoch: 3, epochs: 3, step: 26, stepsPerEpoch: 9 });
    const steps = pre.events.flatMap((e) => (e.type === 'metrics' ? e.points.map((p) => p.step) : []));
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    // What the thread printed reached onOutput line by line, every line before `done` settled.
    const printed = pre.output.filter((l) => l.stream === 'stdout').map((l) => l.text);
    expect(printed.filter((t) => t.startsWith('epoch '))).toEqual([1, 2, 3].map((e) => expect.stringMatching(new RegExp(`^epoch ${e}/3 loss \\S+ val_loss \\S+ \\(\\d+ img/s\\)$`))));
    expect(printed).toContain(`checkpoint 2 written (epoch 3, step 26, ${(last.bytes / 1024).toFixed(1)} KiB, final)`);
    expect(printed).toContainEqual(expect.stringMatching(/^result on the test split: reconstruction MSE \S+ over 40 samples$/));

    const fine = await train({
      runId: randomUUID(),
      storage,
      firstCheckpointSequence: 1,
      baseCheckpointUri: last.uri,
      spec: {
        kind: 'finetune',
        name: 'tiny finetune',
        dataset: { ...dataset, labelsPerClass: 30 },
        model: { type: 'classifier', baseRunId: pretrainId, headUnits: 16 },
        training: { epochs: 20, batchSize: 16, learningRate: 0.01, seed: 3 },
        checkpoint: { everyEpochs: 100 },
      },
    });
    expect(fine.outcome).toEqual({ status: 'succeeded' });
    expect(fine.events.filter((e) => e.type === 'checkpoint').map((c) => c.type === 'checkpoint' && c.models)).toEqual([
      ['classifier'],
    ]);
    const report = (fine.events.find((e) => e.type === 'result') as { result: ClassificationReport }).result;
    expect(report.classNames).toEqual(['circle', 'square', 'triangle', 'cross']);
    // Chance is 25%; over five tries this setup scored 0.65-0.875 on the 40 test shapes.
    expect(report.accuracy).toBeGreaterThan(0.5);
  });

  it('ends cancelled when cancelled, and fails without retry on a bad base checkpoint', async () => {
    const storage = { driver: 'local', root } as const;
    const events: TrainingEvent[] = [];
    const handle = startTrainingThread(
      {
        runId: randomUUID(),
        storage,
        firstCheckpointSequence: 1,
        spec: RunSpecSchema.parse({
          kind: 'pretrain',
          name: 'to cancel',
          dataset,
          model: { type: 'conv-autoencoder', ...architecture },
          training: { epochs: 50, batchSize: 4 },
        }),
      },
      (e) => {
        events.push(e);
        if (e.type === 'metrics') handle.cancel();
      },
    );
    expect(await handle.done).toEqual({ status: 'cancelled' });
    expect(events.some((e) => e.type === 'result')).toBe(false);

    const bad = await train({
      runId: randomUUID(),
      storage,
      firstCheckpointSequence: 1,
      baseCheckpointUri: new LocalObjectStore(root).uri('runs/nowhere/checkpoints/1/'),
      spec: { kind: 'finetune', name: 'no base', dataset, model: { type: 'classifier', baseRunId: randomUUID() } },
    });
    expect(bad.outcome).toMatchObject({ status: 'failed', retryable: false, reason: expect.stringContaining('nowhere') });
  });

  it('cancels and fails (retryable) when handling an event fails', async () => {
    const handle = startTrainingThread(
      {
        runId: randomUUID(),
        storage: { driver: 'local', root },
        firstCheckpointSequence: 1,
        spec: RunSpecSchema.parse({ kind: 'pretrain', name: 'db down', dataset, model: { type: 'conv-autoencoder', ...architecture } }),
      },
      async (e) => {
        if (e.type === 'backend') throw new Error('database unreachable');
      },
    );
    expect(await handle.done).toEqual({
      status: 'failed',
      retryable: true,
      reason: expect.stringMatching(/'backend' event .* failed: database unreachable/),
    });
  });
});
