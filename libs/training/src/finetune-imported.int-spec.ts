import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { type FinetuneResult, type RunSpecInput, RunSpecSchema } from '@trainyard/contracts';
import {
  augmentationSampleKey,
  CheckpointStore,
  filesToModelArtifacts,
  LocalObjectStore,
  storeIOHandler,
} from '@trainyard/storage';
import type { TrainingJobInput } from './training-job.types';
import { collectTrainingProcess } from './testing/collect-training-process';

// Needs the compiled training process and batch-pipeline thread: `node tools/build.mjs libs` (npm test builds first).
// 3 colour classes × 10 PNGs (16×16) + a corrupt file; split 6 train / 2 validation / 2 test per class.

/** A tiny "VGG-like" LayersModel, as tensorflowjs_converter would hand one over: conv blocks, flatten, fc1, predictions. */
async function saveTinyVgg(dir: string): Promise<void> {
  // Seeded, so the imported features (and so the test's accuracy) are the same on every run: with
  // unseeded weights an unlucky draw made two colours indistinguishable now and then.
  let layer = 0;
  const init = () => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: 1000 + ++layer }) });
  const model = tf.sequential({ name: 'tiny_vgg' });
  model.add(
    tf.layers.conv2d({
      name: 'block1_conv1',
      inputShape: [16, 16, 3],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      ...init(),
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'block1_pool', poolSize: 2 }));
  model.add(
    tf.layers.conv2d({
      name: 'block2_conv1',
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      ...init(),
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'block2_pool', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'fc1', units: 16, activation: 'relu', ...init() }));
  model.add(tf.layers.dense({ name: 'predictions', units: 10, activation: 'softmax', ...init() }));
  await model.save(storeIOHandler(new LocalObjectStore(dir), ''));
  model.dispose();
}

async function writeColourFolder(root: string): Promise<void> {
  const colours: Record<string, [number, number, number]> = {
    red: [220, 30, 30],
    green: [30, 200, 40],
    blue: [30, 40, 220],
  };
  for (const [name, [r, g, b]] of Object.entries(colours)) {
    await mkdir(join(root, name), { recursive: true });
    for (let i = 0; i < 10; i++) {
      const pixels = Buffer.alloc(20 * 20 * 3);
      for (let p = 0; p < 400; p++) {
        const jitter = ((p * 7 + i * 13) % 40) - 20;
        pixels.set(
          [r + jitter, g + jitter, b + jitter].map((v) => Math.max(0, Math.min(255, v))),
          p * 3,
        );
      }
      await sharp(pixels, { raw: { width: 20, height: 20, channels: 3 } })
        .png()
        .toFile(join(root, name, `${i}.png`));
    }
  }
  await writeFile(join(root, 'red', 'broken.png'), Buffer.from('not a png at all'));
}

describe('fine-tuning an imported model on an image folder: two-stage freezing, augmentation, evaluation', () => {
  let root: string;
  let checkpoints: CheckpointStore;
  let store: LocalObjectStore;
  const datasetId = randomUUID();
  let spec: RunSpecInput;
  let folder: string;

  async function run(input: Omit<Partial<TrainingJobInput>, 'spec'> & { runId: string; spec: RunSpecInput }) {
    const { outcome, of } = await collectTrainingProcess({
      firstCheckpointSequence: 1,
      imageFolder: { kind: 'local', path: folder },
      cacheDir: join(root, 'cache'),
      // The worker's TRAINYARD_LOCAL_ROOTS: the folder and the imported model are read from under it.
      paths: { localRoots: [root], walkMaxFiles: 1_000_000, walkMaxMs: 30_000 },
      backend: 'cpu',
      ...input,
      spec: RunSpecSchema.parse(input.spec),
      storage: { driver: 'local', root: join(root, 'objects') },
    });
    return { outcome, of };
  }

  async function weights(uri: string): Promise<Map<string, Float32Array>> {
    const artifacts = filesToModelArtifacts('classifier', (await checkpoints.read(uri)).files);
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    // The model's own weights; the optimizer's (Adam's m, v, iter) are named by creation order and left out.
    const own = Object.entries(tensors).filter(([name]) => !/\/(m|v)$|^iter$/.test(name));
    const out = new Map(own.map(([name, t]) => [name, t.dataSync() as Float32Array]));
    tf.dispose(Object.values(tensors));
    return out;
  }

  let full: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-imported-'));
    folder = join(root, 'colours');
    await writeColourFolder(folder);
    await saveTinyVgg(join(root, 'vgg'));
    store = new LocalObjectStore(join(root, 'objects'));
    checkpoints = new CheckpointStore(store);
    spec = {
      kind: 'finetune',
      name: 'imported',
      dataset: {
        name: 'image-folder',
        datasetId,
        imageShape: [16, 16, 3],
        split: { validation: 0.2, test: 0.2, seed: 3 },
      },
      model: {
        type: 'classifier',
        importedModel: { uri: join(root, 'vgg', 'model.json') },
        headUnits: 8,
        freezing: { mode: 'two-stage', unfreezeTopLayers: 1, unfreezeAfterEpochs: 1, fineTuneLearningRate: 0.005 },
      },
      augmentation: { horizontalFlip: true, rotationRange: 10, zoomRange: 0.1 },
      training: { epochs: 3, batchSize: 6, learningRate: 0.05, seed: 11 },
      checkpoint: { everyEpochs: 1 },
    };
    full = await run({ runId: randomUUID(), spec });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('cuts the imported model below its dense top, lists the corrupt file, saves the augmentation grid, and learns', async () => {
    expect(full.outcome).toEqual({ status: 'succeeded' });
    const [report] = full.of('data-report').map((e) => e.report);
    expect(report).toMatchObject({
      classNames: ['blue', 'green', 'red'],
      files: 31,
      skippedCount: 1,
      splits: { train: 18, validation: 6, test: 6 },
    });
    expect(report.skipped[0]).toEqual({
      file: 'red/broken.png',
      reason: expect.stringMatching(/not a readable image/),
    });
    const final = full.of('checkpoint').pop()!;
    const saved = await weights(final.uri);
    // The base is block1..flatten of the imported model: fc1 and its 10-way predictions were cut off.
    expect([...saved.keys()].filter((k) => !k.startsWith('block')).sort()).toEqual([
      'head_hidden/bias',
      'head_hidden/kernel',
      'head_norm/beta',
      'head_norm/gamma',
      'head_norm/moving_mean',
      'head_norm/moving_variance',
      'predictions/bias',
      'predictions/kernel',
    ]);
    const png = await store.get(augmentationSampleKey(full.of('checkpoint')[0].uri.split('/runs/')[1].split('/')[0]));
    expect((await sharp(png).metadata()).format).toBe('png');
    const result = full.of('result')[0].result as { accuracy: number };
    expect(result.accuracy).toBeGreaterThan(0.5);
  });

  it('freezes the base in stage 1 and trains only the top base layer with it in stage 2', async () => {
    const [first, second, third] = await Promise.all(full.of('checkpoint').map((c) => weights(c.uri)));
    const same = (a: Map<string, Float32Array>, b: Map<string, Float32Array>, name: string) =>
      a.get(name)!.every((v, i) => v === b.get(name)![i]);
    const vgg = new LocalObjectStore(join(root, 'vgg'));
    const imported = await tf.loadLayersModel(storeIOHandler(vgg, ''));
    const original = imported.getLayer('block2_conv1').getWeights()[0].dataSync();
    imported.dispose();
    // Stage 1 (epoch 1): no base weight moved.
    expect(first.get('block2_conv1/kernel')!.every((v, i) => v === original[i])).toBe(true);
    // Stage 2 (epochs 2-3): the top base layer with weights trains, the lower one stays frozen.
    expect(same(first, third, 'block2_conv1/kernel')).toBe(false);
    expect(same(first, third, 'block1_conv1/kernel')).toBe(true);
    expect(same(second, third, 'head_hidden/kernel')).toBe(false);
  });

  it('resumes exactly across the stage switch and inside stage 2 (same weights as the uninterrupted run)', async () => {
    const saved = full.of('checkpoint');
    const expected = await weights(saved[2].uri);
    for (const from of [saved[0], saved[1]]) {
      // The run's complete checkpoints up to `from`, newest first: its best so far is among them.
      const resumeCandidates = saved
        .filter((c) => c.sequence <= from.sequence)
        .map(({ sequence, uri }) => ({ sequence, uri }))
        .reverse();
      const resumed = await run({ runId: randomUUID(), spec, resumeCandidates, firstCheckpointSequence: 10 });
      expect(resumed.outcome).toEqual({ status: 'succeeded' });
      const got = await weights(resumed.of('checkpoint').pop()!.uri);
      for (const [name, values] of expected) {
        const diff = Math.max(...values.map((v, i) => Math.abs(v - got.get(name)![i])));
        expect({ name, diff: diff < 1e-6 }).toEqual({ name, diff: true });
      }
    }
  });

  it('evaluates the final checkpoint on the test split: accuracy, top-k, weighted averages, confusion matrix', async () => {
    const final = full.of('checkpoint').pop()!;
    const evaluation = await run({
      runId: randomUUID(),
      spec: {
        kind: 'evaluate',
        name: 'eval',
        checkpoint: { runId: randomUUID() },
        dataset: spec.kind === 'finetune' ? spec.dataset : undefined,
        topK: 2,
      },
      baseCheckpointUri: final.uri,
      baseCheckpointSequence: final.sequence,
    });
    expect(evaluation.outcome).toEqual({ status: 'succeeded' });
    const result = evaluation.of('result')[0].result as unknown as Record<string, unknown> & {
      confusionMatrix: number[][];
      topK: { k: number; accuracy: number };
      accuracy: number;
    };
    expect(result).toMatchObject({
      kind: 'evaluation',
      split: 'test',
      samples: 6,
      classNames: ['blue', 'green', 'red'],
      checkpoint: { sequence: final.sequence },
    });
    expect(result.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(6);
    expect(result.topK.k).toBe(2);
    expect(result.topK.accuracy).toBeGreaterThanOrEqual(result.accuracy);
    expect(result).toHaveProperty('weightedF1');
    // The fine-tune tested its final weights too, beside its best ones.
    expect(result.accuracy).toEqual((full.of('result')[0].result as FinetuneResult).selection!.last.test.accuracy);
  });

  it('fails for good before training when the test split rounds to no image in every class, naming dataset.split.test', async () => {
    if (spec.kind !== 'finetune' || spec.dataset.name !== 'image-folder') throw new Error('a fine-tune of the folder');
    // 10 readable images a class: 4 % of each rounds to none.
    const tiny = { ...spec, dataset: { ...spec.dataset, split: { validation: 0.2, test: 0.04, seed: 3 } } };
    const { outcome, of } = await run({ runId: randomUUID(), spec: tiny });
    expect(outcome).toEqual({
      status: 'failed',
      retryable: false,
      reason: expect.stringMatching(
        /dataset\.split\.test 0\.04 holds out no test image: each of the 3 classes rounds its share down to none \(24 training and 6 validation images in all\); raise dataset\.split\.test or add images$/,
      ),
    });
    expect(of('data-report')[0].report.splits).toEqual({ train: 24, validation: 6, test: 0 });
    expect(of('checkpoint')).toEqual([]);
    expect(of('result')).toEqual([]);
  });
});
