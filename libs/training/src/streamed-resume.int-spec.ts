import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunSpecInput, RunSpecSchema } from '@trainyard/contracts';
import { packImageFolder } from '@trainyard/datasets';
import { LocalObjectStore } from '@trainyard/storage';
import sharp from 'sharp';
import type { TrainingProcessHandle } from './start-training-process';
import { collectTrainingProcess } from './testing/collect-training-process';
import type { TrainingEvent, TrainingJobInput } from './training-job.types';

// Needs the compiled training process and packed-batch thread: `node tools/build.mjs libs`.
/** A 12×12 PNG whose colour and bright square depend on `seed`. */
function picture(seed: number): Promise<Buffer> {
  const data = Buffer.alloc(12 * 12 * 3);
  for (let p = 0; p < 144; p++) {
    const inSquare = Math.abs((p % 12) - (seed % 9)) < 3 && Math.abs(Math.floor(p / 12) - (seed % 7)) < 3;
    for (let c = 0; c < 3; c++) data[p * 3 + c] = inSquare ? 255 : (seed * (31 + 17 * c)) % 200;
  }
  return sharp(data, { raw: { width: 12, height: 12, channels: 3 } })
    .png()
    .toBuffer();
}

// 3 classes × 30 images; split 0.2 / 0.2 → 18 training images per class = 54, batch 3 → 18 steps.
const PER_EPOCH = 18;

describe('a streamed fine-tune preempted mid-epoch resumes at the exact data position', () => {
  let root: string;
  let spec: RunSpecInput;

  async function train(
    input: Partial<TrainingJobInput>,
    onEvent: (e: TrainingEvent, h: TrainingProcessHandle) => void,
  ) {
    const { outcome, of } = await collectTrainingProcess(
      {
        runId: randomUUID(),
        firstCheckpointSequence: 1,
        ...input,
        spec: RunSpecSchema.parse(spec),
        storage: { driver: 'local', root },
        cacheDir: join(root, 'cache'),
      },
      onEvent,
    );
    const points = of('metrics').flatMap((e) => e.points);
    const batchLoss = new Map(points.filter((p) => p.name === 'batch_loss').map((p) => [p.step, p.value]));
    return { outcome, of, batchLoss };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-streamed-resume-'));
    const store = new LocalObjectStore(root);
    for (const [c, name] of ['a', 'b', 'c'].entries())
      for (let i = 0; i < 30; i++) await store.put(`folder/${name}/${i}.png`, await picture(40 * c + i));
    const { version } = await packImageFolder(store, 'folder/', store, { shardBytes: 800 });
    spec = {
      kind: 'finetune',
      name: 'streamed',
      dataset: {
        name: 'image-folder',
        datasetId: randomUUID(),
        imageShape: [8, 8, 3],
        fit: 'fill',
        split: { validation: 0.2, test: 0.2, seed: 3 },
        stream: { version, shuffleBuffer: 5, readAheadShards: 1 },
      },
      model: { type: 'classifier', inputShape: [8, 8, 3], filters: [4], latentDim: 8, headUnits: 4, dropout: 0 },
      augmentation: { rotationRange: 20, horizontalFlip: true },
      training: { epochs: 3, batchSize: 3, learningRate: 0.01, seed: 9 },
      checkpoint: { everyEpochs: 1 },
    };
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('trains the same batches (the same per-step losses) as an uninterrupted run', async () => {
    const full = await train({}, () => undefined);
    expect(full.outcome).toEqual({ status: 'succeeded' });
    expect([...full.batchLoss.keys()]).toEqual(Array.from({ length: 3 * PER_EPOCH }, (_, s) => s));
    expect(full.of('data-report')[0].report).toMatchObject({ splits: { train: 54, validation: 18, test: 18 } });

    const runId = randomUUID();
    const cut = await train({ runId }, (e, handle) => {
      if (e.type === 'metrics' && e.points.some((p) => p.name === 'batch_loss' && p.step === PER_EPOCH + 2))
        handle.preempt();
    });
    expect(cut.outcome).toEqual({ status: 'preempted' });
    const [first, last] = cut.of('checkpoint');
    expect(last).toMatchObject({ epoch: 1, reason: 'preempt' });
    expect(last.step).toBeGreaterThan(PER_EPOCH); // mid-epoch 2: the stream restarts inside it

    const rest = await train(
      {
        runId,
        firstCheckpointSequence: 3,
        resumeCandidates: [last, first].map(({ sequence, uri }) => ({ sequence, uri })),
      },
      () => undefined,
    );
    expect(rest.outcome).toEqual({ status: 'succeeded' });
    expect(rest.of('resumed')).toEqual([{ type: 'resumed', sequence: last.sequence, epoch: 1, step: last.step }]);
    const resumedSteps = [...rest.batchLoss.keys()];
    expect(resumedSteps[0]).toBe(last.step + 1);
    // The rest of epoch 2 — where the stream restarted mid-epoch — and epoch 3, a fresh epoch
    // order, retrace the uninterrupted run's batches bit for bit: same data position, same
    // weights, and Adam's state with its beta powers replayed as training multiplied them (tfjs's
    // setWeights alone rederives them a ULP away, and the losses drifted by up to 8e-3 by the
    // end of epoch 3). Neighbouring batches differ far more, so equal losses mean equal batches.
    const neighbours = resumedSteps.slice(1).map((s) => Math.abs(full.batchLoss.get(s)! - full.batchLoss.get(s - 1)!));
    expect(neighbours.reduce((a, b) => a + b, 0) / neighbours.length).toBeGreaterThan(1e-2);
    expect(resumedSteps.map((step) => rest.batchLoss.get(step))).toEqual(
      resumedSteps.map((s) => full.batchLoss.get(s)),
    );
  });
});
