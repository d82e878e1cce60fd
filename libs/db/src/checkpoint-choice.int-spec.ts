import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { RunSpecSchema, type RunResult } from '@trainyard/contracts';
import { LocalObjectStore } from '@trainyard/storage';
import { bestCheckpointSequence, chosenCheckpoint } from './checkpoint-choice';
import { CheckpointsRepository } from './checkpoints.repository';
import type { Database } from './open-database';
import { PipelinesRepository } from './pipelines.repository';
import { RunReferencesResolver } from './run-references.resolver';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const shapes = { name: 'synthetic-shapes', imageSize: 8 };
/** A result whose selection chose checkpoint `best` (null: none recorded, as before selection existed). */
const resultWithBest = (best: number | null) =>
  ({
    split: 'test',
    samples: 10,
    mse: 0.01,
    ...(best === null
      ? {}
      : {
          selection: {
            metric: 'val_loss',
            goal: 'min',
            best: { epoch: best, step: best * 10, sequence: best, validation: { name: 'val_loss', value: 0.1 } },
            last: {
              epoch: 4,
              step: 40,
              sequence: 4,
              validation: null,
              test: { split: 'test', samples: 10, mse: 0.02 },
            },
            stoppedEarly: null,
          },
        }),
  }) as unknown as RunResult;

/**
 * What other runs build on (issue #14, B1): a run's best checkpoint by its selection metric when
 * its result records one that is COMPLETE and holds the model wanted, else its latest COMPLETE
 * one; by the same rule for a fine-tune's base, an evaluation, a model version and a pipeline step.
 */
describe('the checkpoint other runs build on (PostgreSQL)', () => {
  let db: Database;
  let runs: RunsRepository;
  let checkpoints: CheckpointsRepository;
  let resolver: RunReferencesResolver;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
    resolver = new RunReferencesResolver(db.prisma, { store: new LocalObjectStore(tmpdir()), localRoots: [] });
  });

  /** A SUCCEEDED run with COMPLETE checkpoints 1–4 holding `models`, its result choosing `best`. */
  async function finishedRun(kind: 'PRETRAIN' | 'FINETUNE', best: number | null, models: (seq: number) => string[]) {
    const spec = RunSpecSchema.parse(
      kind === 'PRETRAIN'
        ? { kind: 'pretrain', name: 'p', dataset: shapes }
        : { kind: 'finetune', name: 'f', dataset: shapes },
    );
    const run = await runs.create({ id: randomUUID(), kind, name: 'base', spec, baseRunId: null });
    const ids = new Map<number, string>();
    for (const sequence of [1, 2, 3, 4]) {
      const begun = await checkpoints.begin({
        runId: run.id,
        attemptId: null,
        sequence,
        epoch: sequence,
        step: sequence * 10,
        uri: `file:///ckpt/${run.id}/${sequence}/`,
        models: models(sequence),
      });
      await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
      ids.set(sequence, begun.id);
    }
    await runs.finish(run.id, 'SUCCEEDED', { result: resultWithBest(best) });
    return { id: run.id, ids, row: (await runs.get(run.id))! };
  }
  const encoder = () => ['autoencoder', 'encoder'];
  const finetuneOf = (baseRunId: string) =>
    RunSpecSchema.parse({ kind: 'finetune', name: 'ft', dataset: shapes, model: { type: 'classifier', baseRunId } });

  it("reads the best sequence from a run's result, and nothing else", () => {
    expect(bestCheckpointSequence(resultWithBest(2))).toBe(2);
    expect(bestCheckpointSequence(resultWithBest(null))).toBeNull();
    expect(bestCheckpointSequence(null)).toBeNull();
    expect(bestCheckpointSequence({ selection: { best: { sequence: null } } })).toBeNull();
    expect(bestCheckpointSequence({ selection: { best: { sequence: '2' } } })).toBeNull();
  });

  it("pins a fine-tune to its pretrain's best checkpoint, and says at start that it is the best", async () => {
    const base = await finishedRun('PRETRAIN', 2, encoder);
    const pinned = await resolver.atSubmit(finetuneOf(base.id), 'default');
    expect(pinned.baseCheckpointId).toBe(base.ids.get(2));
    const run = await runs.create({
      id: randomUUID(),
      kind: 'FINETUNE',
      name: 'ft',
      spec: pinned.spec,
      baseRunId: base.id,
      baseCheckpointId: pinned.baseCheckpointId,
    });
    const started = await resolver.atStart(run, pinned.spec);
    expect(started.ok && started.references.checkpoint).toMatchObject({ sequence: 2, runId: base.id, best: true });
  });

  it('falls back to the latest COMPLETE checkpoint when no best is recorded, or the best is unusable', async () => {
    const unrecorded = await finishedRun('PRETRAIN', null, encoder);
    expect((await resolver.atSubmit(finetuneOf(unrecorded.id), 'default')).baseCheckpointId).toBe(
      unrecorded.ids.get(4),
    );
    const run = await runs.create({
      id: randomUUID(),
      kind: 'FINETUNE',
      name: 'ft',
      spec: finetuneOf(unrecorded.id),
      baseRunId: unrecorded.id,
      baseCheckpointId: unrecorded.ids.get(4)!,
    });
    const started = await resolver.atStart(run, finetuneOf(unrecorded.id));
    expect(started.ok && started.references.checkpoint).toMatchObject({ sequence: 4, best: false });

    const corrupted = await finishedRun('PRETRAIN', 2, encoder);
    await checkpoints.markCorrupt(corrupted.ids.get(2)!);
    expect((await resolver.atSubmit(finetuneOf(corrupted.id), 'default')).baseCheckpointId).toBe(corrupted.ids.get(4));
    // A best that lacks the model asked for (a pipeline step's) gives way to the latest that has it.
    const partial = await finishedRun('PRETRAIN', 3, (seq) => (seq === 3 ? ['autoencoder'] : encoder()));
    expect(await chosenCheckpoint(db.prisma, partial.row, 'encoder')).toMatchObject({
      chosen: 'latest',
      checkpoint: { sequence: 4 },
    });
    expect(await chosenCheckpoint(db.prisma, partial.row)).toMatchObject({
      chosen: 'best',
      checkpoint: { sequence: 3 },
    });
  });

  it("evaluates, registers and releases pipeline steps from a fine-tune's best checkpoint too", async () => {
    const finetuned = await finishedRun('FINETUNE', 1, () => ['classifier']);
    const evaluation = RunSpecSchema.parse({ kind: 'evaluate', name: 'ev', checkpoint: { runId: finetuned.id } });
    expect((await resolver.atSubmit(evaluation, 'default')).baseCheckpointId).toBe(finetuned.ids.get(1));
    // Model registration (ModelsService) reads the same choice.
    expect(await checkpoints.chosen(finetuned.row)).toMatchObject({ chosen: 'best', checkpoint: { sequence: 1 } });

    // A pipeline releases its fine-tune on the pretrain's best checkpoint once the pretrain SUCCEEDS.
    const pipelines = new PipelinesRepository(db.prisma);
    const pipelineId = randomUUID();
    const pretrainId = randomUUID();
    const stepId = randomUUID();
    const pretrainSpec = RunSpecSchema.parse({ kind: 'pretrain', name: 'p', dataset: shapes });
    await pipelines.create({ id: pipelineId, name: 'pl', spec: {}, project: 'default' }, [
      { id: pretrainId, kind: 'PRETRAIN', name: 'p', spec: pretrainSpec, held: false, baseRunId: null },
      {
        id: stepId,
        kind: 'FINETUNE',
        name: 'ft',
        spec: RunSpecSchema.parse({ kind: 'finetune', name: 'ft', dataset: shapes }),
        held: true,
        baseRunId: pretrainId,
      },
    ]);
    for (const sequence of [1, 2, 3]) {
      const begun = await checkpoints.begin({
        runId: pretrainId,
        attemptId: null,
        sequence,
        epoch: sequence,
        step: sequence,
        uri: `file:///ckpt/${pretrainId}/${sequence}/`,
        models: encoder(),
      });
      await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
    }
    await runs.finish(pretrainId, 'SUCCEEDED', { result: resultWithBest(2) });
    await pipelines.advance(pipelineId);
    const step = (await runs.get(stepId))!;
    expect(step.held).toBe(false);
    expect((await checkpoints.get(step.baseCheckpointId!))!.sequence).toBe(2);
  });
});
