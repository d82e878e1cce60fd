import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ClassificationReport, FinetuneResult, RunSpecInput } from '@trainyard/contracts';
import { RunSpecSchema } from '@trainyard/contracts';
import { CheckpointStore, filesToModelArtifacts, LocalObjectStore } from '@trainyard/storage';
import { startTrainingProcess, type TrainingProcessOptions } from './start-training-process';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';

// Needs the compiled training process: `node tools/build.mjs libs` (the test command builds first).
// 64 shapes, 16 held out for validation: 48 / batch 8 = 6 steps per epoch.
const dataset = { name: 'synthetic-shapes', imageSize: 16, perClass: 16, testPerClass: 4 } as const;
const architecture = { inputShape: [16, 16, 1] as [number, number, 1], filters: [4, 8], latentDim: 8 };

describe('transfer from a pretrain run, and the best checkpoint tested', () => {
  let root: string;
  let checkpoints: CheckpointStore;
  let pretrained: Extract<TrainingEvent, { type: 'checkpoint' }>;

  async function run(
    input: Omit<Partial<TrainingJobInput>, 'spec'> & { spec: RunSpecInput },
    options: TrainingProcessOptions = {},
  ) {
    const events: TrainingEvent[] = [];
    const handle = startTrainingProcess(
      {
        runId: randomUUID(),
        firstCheckpointSequence: 1,
        backend: 'wasm',
        ...input,
        spec: RunSpecSchema.parse(input.spec),
        storage: { driver: 'local', root },
      },
      (e) => void events.push(e),
      options,
    );
    const outcome = await handle.done;
    const of = <T extends TrainingEvent['type']>(type: T) =>
      events.filter((e): e is Extract<TrainingEvent, { type: T }> => e.type === type);
    return { outcome, of, result: of('result')[0]?.result };
  }

  /** A stored model's own weights by name (the optimizer's left out). */
  async function weights(uri: string, model: string): Promise<Map<string, number[]>> {
    const artifacts = filesToModelArtifacts(model, (await checkpoints.read(uri)).files);
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    const own = artifacts
      .weightSpecs!.filter((s) => s.group !== 'optimizer')
      .map((s) => [s.name, Array.from(tensors[s.name].dataSync())] as const);
    tf.dispose(Object.values(tensors));
    return new Map(own);
  }

  const finetune = (model: object, training: object): RunSpecInput => ({
    kind: 'finetune',
    name: 'ft',
    dataset,
    model: { type: 'classifier', baseRunId: randomUUID(), ...architecture, ...model },
    training: { batchSize: 8, learningRate: 0.01, validationSplit: 0.25, seed: 3, ...training },
  });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-transfer-'));
    checkpoints = new CheckpointStore(new LocalObjectStore(root));
    const pretrain = await run({
      spec: {
        kind: 'pretrain',
        name: 'ae',
        dataset,
        model: { type: 'conv-autoencoder', ...architecture, loss: 'binaryCrossentropy', latentActivation: 'linear' },
        training: { epochs: 2, batchSize: 8, learningRate: 0.01, validationSplit: 0.25, seed: 3 },
      },
    });
    expect(pretrain.outcome).toEqual({ status: 'succeeded' });
    expect(pretrain.result).toMatchObject({ split: 'test', selection: { metric: 'val_loss', goal: 'min' } });
    pretrained = pretrain.of('checkpoint').pop()!;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ['conv', 'enc_pool2', [4, 4, 8], 'enc_conv2/kernel'],
    ['latent', 'latent', [8], 'latent/kernel'],
  ] as const)(
    'cuts the encoder at %s and puts a normalised head on it',
    async (cutAt, cutLayer, features, transferred) => {
      const ft = await run({
        spec: finetune({ cutAt, freezing: { mode: 'base' } }, { epochs: 1 }),
        baseCheckpointUri: pretrained.uri,
      });
      expect(ft.outcome).toEqual({ status: 'succeeded' });
      expect((ft.result as FinetuneResult).transfer).toEqual({
        base: 'run',
        cutAt,
        cutLayer,
        features,
        headNorm: 'batchNorm',
      });
      const classifier = await weights(ft.of('checkpoint').pop()!.uri, 'classifier');
      const encoder = await weights(pretrained.uri, 'encoder');
      // The frozen base is the pretrained encoder's, up to the cut and no further.
      expect(classifier.get(transferred)).toEqual(encoder.get(transferred));
      expect(classifier.has('latent/kernel')).toBe(cutAt === 'latent');
      expect([...classifier.keys()].filter((k) => k.startsWith('head_')).sort()).toEqual([
        'head_norm/beta',
        'head_norm/gamma',
        'head_norm/moving_mean',
        'head_norm/moving_variance',
      ]);
    },
  );

  it('tests the best checkpoint by the chosen metric, and the last weights beside it, as evaluation runs of them would', async () => {
    // From scratch at a high rate on 48 images: validation loss bottoms out at epoch 2 and rises after.
    const ft = await run({
      spec: finetune(
        { baseRunId: null },
        { epochs: 6, learningRate: 0.05, earlyStopping: { metric: 'val_loss', patience: 100 } },
      ),
    });
    expect(ft.outcome).toEqual({ status: 'succeeded' });
    const result = ft.result as FinetuneResult;
    const saved = ft.of('checkpoint');
    const losses = saved.map((c) => c.metric!.value);
    const bestAt = losses.indexOf(Math.min(...losses));
    expect(result.selection).toMatchObject({
      metric: 'val_loss',
      goal: 'min',
      best: {
        epoch: saved[bestAt].epoch,
        sequence: saved[bestAt].sequence,
        validation: { name: 'val_loss', value: losses[bestAt] },
      },
      last: { epoch: 6, sequence: saved.at(-1)!.sequence },
      stoppedEarly: null,
    });
    expect(bestAt).toBeLessThan(saved.length - 1);

    const evaluate = async (checkpoint: (typeof saved)[number]) => {
      const evaluation = await run({
        spec: { kind: 'evaluate', name: 'eval', checkpoint: { runId: randomUUID() } },
        baseCheckpointUri: checkpoint.uri,
        baseCheckpointSequence: checkpoint.sequence,
      });
      const { accuracy, confusionMatrix, macroF1 } = evaluation.result as ClassificationReport;
      return { accuracy, confusionMatrix, macroF1 };
    };
    const pick = ({ accuracy, confusionMatrix, macroF1 }: ClassificationReport) => ({
      accuracy,
      confusionMatrix,
      macroF1,
    });
    expect(pick(result)).toEqual(await evaluate(saved[bestAt]));
    expect(pick(result.selection!.last.test)).toEqual(await evaluate(saved.at(-1)!));
  });

  it('fails an evaluation run for good when its batch runs out of (fake) GPU memory, naming its batchSize', async () => {
    const ft = await run({ spec: finetune({ baseRunId: null }, { epochs: 1 }) });
    expect(ft.outcome).toEqual({ status: 'succeeded' });
    const checkpoint = ft.of('checkpoint').at(-1)!;
    // 32 KiB of "GPU": the first convolution's output for 16 test images (16 × 16 × 16 × 4 floats, 64 KiB) does not fit.
    const evaluation = await run(
      {
        spec: { kind: 'evaluate', name: 'eval', checkpoint: { runId: randomUUID() }, batchSize: 16 },
        baseCheckpointUri: checkpoint.uri,
        baseCheckpointSequence: checkpoint.sequence,
        backend: 'tensorflow-gpu',
      },
      {
        env: {
          NODE_ENV: 'test',
          TRAINYARD_TEST_FAKE_TFJS_NODE_GPU: '1',
          TRAINYARD_TEST_FAKE_GPU_MEMORY_BYTES: '32768',
        },
      },
    );
    expect(evaluation.outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(
        /^run \S+: batchSize: the evaluation on batches of 16 ran out of GPU memory \(OOM when allocating tensor with shape\[16,16,16,4\] .*\): lower batchSize/,
      ),
    });
  });
});
