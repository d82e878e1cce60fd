import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { type DataReport, type RunSpecInput, RunSpecSchema } from '@trainyard/contracts';
import { CheckpointStore, LocalObjectStore } from '@trainyard/storage';
import type { TrainingJobInput } from './training-job.types';
import { collectTrainingProcess } from './testing/collect-training-process';

// Needs the compiled training process: `node tools/build.mjs libs` (the test command builds first).
// Evaluations of a fine-tune trained on a local folder, each in a training process as a worker runs
// it, reading checkpoints from a local object store.
describe('an evaluation holds its dataset to the classes and the split the run trained on', () => {
  let root: string;
  let checkpoints: CheckpointStore;
  const datasetId = randomUUID();
  const trainedRunId = randomUUID();
  let checkpoint: { uri: string; sequence: number };
  let trainedReport: DataReport;

  const imageFolder = (split: { seed?: number; assign?: 'key' | 'position' } = {}) => ({
    name: 'image-folder' as const,
    datasetId,
    imageShape: [16, 16, 3] as [number, number, 3],
    split: { validation: 0.2, test: 0.3, seed: 2, ...split },
  });

  async function run(input: Omit<Partial<TrainingJobInput>, 'spec'> & { spec: RunSpecInput }) {
    const { outcome, of } = await collectTrainingProcess({
      runId: randomUUID(),
      firstCheckpointSequence: 1,
      imageFolder: { kind: 'local', path: join(root, 'pets') },
      paths: { localRoots: [root], walkMaxFiles: 1_000_000, walkMaxMs: 30_000 },
      backend: 'wasm',
      ...input,
      spec: RunSpecSchema.parse(input.spec),
      storage: { driver: 'local', root: join(root, 'objects') },
    });
    return { outcome, of };
  }

  const evaluate = (
    of: { uri: string; sequence: number },
    extra: Omit<Partial<TrainingJobInput>, 'spec'> & { dataset?: ReturnType<typeof imageFolder> } = {},
  ) => {
    const { dataset, ...input } = extra;
    return run({
      spec: { kind: 'evaluate', name: 'eval', checkpoint: { runId: trainedRunId }, ...(dataset ? { dataset } : {}) },
      baseCheckpointUri: of.uri,
      baseCheckpointSequence: of.sequence,
      ...input,
    });
  };
  const failedFor = (reason: RegExp) => ({ status: 'failed', retryable: false, reason: expect.stringMatching(reason) });

  /** A copy of the trained checkpoint as a release before this one wrote it: no classes, no split.assign. */
  async function olderCheckpoint(): Promise<{ uri: string; sequence: number }> {
    const { files } = await checkpoints.read(checkpoint.uri);
    const state = JSON.parse(files['state.json'].toString('utf8'));
    delete state.classNames;
    delete state.spec.dataset.split.assign;
    files['state.json'] = Buffer.from(JSON.stringify(state));
    const { uri } = await checkpoints.write(randomUUID(), 1, files, {});
    return { uri, sequence: 1 };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-evaluate-'));
    checkpoints = new CheckpointStore(new LocalObjectStore(join(root, 'objects')));
    for (const [c, name] of ['ant', 'bee', 'cat'].entries())
      for (let i = 0; i < 6; i++) {
        const background = { r: 120 * c, g: 40 * i, b: 200 - 60 * c };
        const png = await sharp({ create: { width: 12, height: 12, channels: 3, background } })
          .png()
          .toBuffer();
        // The same pictures in a second folder, 'ant' renamed 'zebra': it sorts last, so every label moves.
        for (const path of [`pets/${name}`, `renamed/${name === 'ant' ? 'zebra' : name}`]) {
          await mkdir(join(root, path), { recursive: true });
          await writeFile(join(root, path, `${i}.png`), png);
        }
      }
    const finetune = await run({
      spec: {
        kind: 'finetune',
        name: 'pets',
        dataset: imageFolder(),
        model: { type: 'classifier', filters: [4], latentDim: 8 },
        training: { epochs: 1, batchSize: 4, seed: 1 },
      },
    });
    expect(finetune.outcome).toEqual({ status: 'succeeded' });
    checkpoint = finetune.of('checkpoint').at(-1)!;
    trainedReport = finetune.of('data-report').at(-1)!.report;
  }, 120_000);
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the classes in the checkpoint, and evaluates the run on its own folder', async () => {
    const state = JSON.parse((await checkpoints.read(checkpoint.uri)).files['state.json'].toString('utf8'));
    expect(state.classNames).toEqual(['ant', 'bee', 'cat']);
    expect(state.spec.dataset.split).toEqual({ validation: 0.2, test: 0.3, seed: 2, assign: 'key' });
    const evaluation = await evaluate(checkpoint);
    expect(evaluation.outcome).toEqual({ status: 'succeeded' });
    expect(evaluation.of('result')[0]?.result).toMatchObject({ classNames: ['ant', 'bee', 'cat'], samples: 6 });
  });

  it('fails for good on a folder whose classes differ in name or order, naming the first difference', async () => {
    const renamed = { imageFolder: { kind: 'local' as const, path: join(root, 'renamed') } };
    // Was: SUCCEEDED, every label scored against another class's output (accuracy 0).
    const evaluation = await evaluate(checkpoint, {
      ...renamed,
      dataset: { ...imageFolder(), datasetId: randomUUID() },
    });
    expect(evaluation.outcome).toEqual(
      failedFor(
        /trained on 3 classes, dataset \S+ has 3, and they differ first at output 0: "ant" for the run, "bee" in the dataset/,
      ),
    );
    // A checkpoint written before checkpoints held their classes: the run's recorded ones stand in…
    const older = await olderCheckpoint();
    const recorded = { classNames: ['ant', 'bee', 'cat'], files: null };
    const byRecord = await evaluate(older, { ...renamed, baseCheckpointTrainedOn: recorded });
    expect(byRecord.outcome).toEqual(failedFor(/differ first at output 0: "ant" for the run, "bee" in the dataset/));
    // …and where the run recorded none, only their number is checked.
    expect((await evaluate(older, renamed)).outcome).toEqual({ status: 'succeeded' });
  });

  it("fails for good on the run's own folder split otherwise, saying to leave dataset out", async () => {
    // Was: scored on a test split holding images the run trained on.
    const evaluation = await evaluate(checkpoint, { dataset: imageFolder({ seed: 3 }) });
    expect(evaluation.outcome).toEqual(
      failedFor(
        /Dataset \S+ is the one run \S+ trained on, but dataset\.split\.seed 3 \(the run's: 2\) would hold out images the run trained on: leave dataset out/,
      ),
    );
    const assigned = await evaluate(checkpoint, { dataset: imageFolder({ assign: 'position' }) });
    expect(assigned.outcome).toEqual(failedFor(/dataset\.split\.assign "position" \(the run's: "key"\)/));
    expect((await evaluate(checkpoint, { dataset: imageFolder() })).outcome).toEqual({ status: 'succeeded' });
  });

  it('evaluates a checkpoint from before key splits on the position split it trained on, and only on it', async () => {
    const older = await olderCheckpoint();
    // Its spec says no assign: it was split by position, and an evaluation by key would leak.
    const byKey = await evaluate(older, { dataset: imageFolder() });
    expect(byKey.outcome).toEqual(failedFor(/dataset\.split\.assign "key" \(the run's: "position"\)/));
    const files = { found: trainedReport.files, skipped: trainedReport.skippedCount };
    const asTrained = await evaluate(older, { baseCheckpointTrainedOn: { classNames: null, files } });
    expect(asTrained.outcome).toEqual({ status: 'succeeded' });
    // The folder held one image fewer when the run listed it: its position split is another now.
    const grown = { classNames: null, files: { ...files, found: files.found - 1 } };
    expect((await evaluate(older, { baseCheckpointTrainedOn: grown })).outcome).toEqual(
      failedFor(/split dataset \S+ by position .* when the folder held 17 image files \(0 unreadable\); it holds 18/),
    );
  });
});
