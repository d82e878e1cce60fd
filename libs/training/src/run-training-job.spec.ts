import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunSpecSchema } from '@trainyard/contracts';
import {
  InvalidImageFolderError,
  InvalidPackedManifestError,
  InvalidSplitError,
  TooManyBadImagesError,
} from '@trainyard/datasets';
import { CorruptCheckpointError } from '@trainyard/storage';
import { DivergedError } from './diverged.error';
import { runTrainingJob, trainingFailure } from './run-training-job';
import type { TrainingEvent } from './training-job.types';

describe('trainingFailure', () => {
  it('fails a diverged run for good, saying where it diverged', () => {
    const outcome = trainingFailure('r1', new DivergedError(3, 17, NaN));
    expect(outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringContaining('diverged at epoch 3, step 17'),
    });
  });

  it('retries what may pass next time, not a corrupt base checkpoint', () => {
    expect(trainingFailure('r1', new Error('socket hang up'))).toMatchObject({ retryable: true });
    expect(trainingFailure('r1', new CorruptCheckpointError('file:///x/', 'manifest.json', 'missing'))).toMatchObject({
      retryable: false,
    });
  });

  it('fails for good a folder or a packed manifest that no attempt could read differently', () => {
    expect(
      trainingFailure('r1', new InvalidImageFolderError('file:///d/', 'class folder "\\u001b": refused')),
    ).toMatchObject({
      retryable: false,
    });
    // Split fractions that leave a class nothing to train on (stratifiedSplit's refusal).
    expect(
      trainingFailure('r1', new InvalidSplitError('split fractions must … leave some training data')),
    ).toMatchObject({ retryable: false });
    expect(trainingFailure('r1', new InvalidPackedManifestError('manifest x is not JSON'))).toEqual({
      status: 'failed',
      retryable: false,
      reason: 'run r1: manifest x is not JSON',
    });
  });

  it('fails for good a stream with more bad images than maxBadFraction allows, naming the last one', () => {
    const error = new TooManyBadImagesError(3, 10, 0.2, { file: 'flowers/rose/7.jpg', reason: 'not a readable image' });
    expect(trainingFailure('r1', error)).toEqual({
      status: 'failed',
      retryable: false,
      reason:
        "run r1: 3 of the version's 10 images are unusable, more than maxBadFraction 0.2 allows (the last: flowers/rose/7.jpg: not a readable image)",
    });
  });
});

describe('runTrainingJob', () => {
  it('ends preempted without training or a checkpoint when preempted while loading', async () => {
    const root = await mkdtemp(join(tmpdir(), 'trainyard-preempt-'));
    try {
      const events: TrainingEvent[] = [];
      const spec = RunSpecSchema.parse({
        kind: 'pretrain',
        name: 'preempted early',
        dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 4, testPerClass: 1 },
        model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4], latentDim: 4 },
        training: { steps: 40 },
      });
      const input = {
        runId: 'early',
        spec,
        storage: { driver: 'local', root } as const,
        backend: 'wasm' as const,
        firstCheckpointSequence: 1,
      };
      const outcome = await runTrainingJob(
        input,
        (e) => events.push(e),
        () => false,
        () => true,
      );
      expect(outcome).toEqual({ status: 'preempted' });
      expect(events.map((e) => e.type)).toEqual(['progress', 'backend']);
      // A steps budget's total is known before the data: the first report already gives it.
      expect(events[0]).toMatchObject({ type: 'progress', progress: { phase: 'loading', totalSteps: 40 } });
      expect(await readdir(root)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
