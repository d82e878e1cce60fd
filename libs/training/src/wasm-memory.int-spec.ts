import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunSpec, RunSpecSchema } from '@trainyard/contracts';
import { startTrainingProcess } from './start-training-process';
import { OWN_LAYERS_AUTOENCODER } from './testing/own-layers-autoencoder';
import type { TrainingEvent } from './training-job.types';

// Needs the compiled training process: `node tools/build.mjs libs` (the test command builds first).
// A batch whose training step needs more than the wasm backend's 4 GiB traps in a kernel ("memory
// access out of bounds"): the run must fail for good naming training.batchSize, not be retried
// three times on an error no user can act on.
describe('a training step past the wasm backend’s memory, in a real training process', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-wasm-memory-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** `spec` trained in a real training process on the wasm backend (cancelled past 2 minutes): its outcome. */
  const trainOnWasm = (spec: RunSpec, onEvent: (event: TrainingEvent) => void = () => undefined) => {
    const handle = startTrainingProcess(
      { runId: randomUUID(), firstCheckpointSequence: 1, backend: 'wasm', spec, storage: { driver: 'local', root } },
      onEvent,
    );
    const guard = setTimeout(() => handle.cancel(), 120_000);
    return handle.done.finally(() => clearTimeout(guard));
  };

  it('fails the run for good at its first step, naming training.batchSize and the batch', async () => {
    // 600 images, 540 after the validation split: the first batch holds 512 (measured: this model traps at 512, trains at 256).
    const spec = RunSpecSchema.parse({
      kind: 'pretrain',
      name: 'too large a batch',
      dataset: { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 150, testPerClass: 2 },
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
      training: { epochs: 1, batchSize: 512, seed: 1 },
    });
    const events: TrainingEvent[] = [];
    const outcome = await trainOnWasm(spec, (event) => void events.push(event));
    expect(outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(
        /^run \S+: training\.batchSize: a training step on a batch of 512 failed in the wasm backend \(.+\), as one that needs more memory than the 4 GiB it can hold does/,
      ),
    });
    expect(events.filter((e) => e.type === 'checkpoint' || e.type === 'metrics')).toEqual([]);
  }, 180_000);

  it('fails it for good naming the step when the cleanup after the trap traps again', async () => {
    // Measured: the own layers-autoencoder (the one tools/memory/calibrate-wasm.ts calibrates) at batch
    // 520 traps in its step, then disposing the batch and the variables traps again on the heap
    // the first trap left: that bare RuntimeError came out retryable, naming nothing.
    const spec = RunSpecSchema.parse({
      kind: 'pretrain',
      name: 'a trap after the trap',
      dataset: { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 139, testPerClass: 2 },
      model: OWN_LAYERS_AUTOENCODER,
      training: { steps: 1, batchSize: 520, validationSplit: 0.05, seed: 1 },
    });
    const outcome = await trainOnWasm(spec);
    expect(outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(
        /^run \S+: training\.batchSize: a training step on a batch of 520 failed in the wasm backend \(.+\), as one that needs more memory than the 4 GiB it can hold does/,
      ),
    });
  }, 180_000);
});
