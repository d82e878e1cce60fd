import { randomUUID } from 'node:crypto';
import { RunSpecSchema, type RunKind } from '@trainyard/contracts';
import type { CreatedCursor } from './catalog-page';
import { CheckpointsRepository } from './checkpoints.repository';
import type { Database } from './open-database';
import { PipelinesRepository } from './pipelines.repository';
import { useMigratedDatabase } from './testing';

const shapes = { name: 'synthetic-shapes', imageSize: 8 };
const specs = {
  PRETRAIN: (name: string) => RunSpecSchema.parse({ kind: 'pretrain', name, dataset: shapes }),
  FINETUNE: (name: string) => RunSpecSchema.parse({ kind: 'finetune', name, dataset: shapes }),
  EVALUATE: (name: string) => RunSpecSchema.parse({ kind: 'evaluate', name, checkpoint: { runId: randomUUID() } }),
};

describe('PipelinesRepository (PostgreSQL)', () => {
  let db: Database;
  let pipelines: PipelinesRepository;
  let checkpoints: CheckpointsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    pipelines = new PipelinesRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
  });

  /** A pipeline of the given steps (name, kind, upstream step's name); all but the first held. */
  async function pipeline(steps: [name: string, kind: RunKind, upstream: string | null][]) {
    const id = randomUUID();
    const ids = new Map(steps.map(([name]) => [name, randomUUID()]));
    await pipelines.create(
      { id, name: 'pl', spec: {}, project: 'default' },
      steps.map(([name, kind, upstream], i) => ({
        id: ids.get(name)!,
        kind,
        name,
        spec: specs[kind as keyof typeof specs](name),
        baseRunId: upstream ? ids.get(upstream)! : null,
        held: i > 0,
      })),
    );
    return { id, ids };
  }

  async function succeed(runId: string, models: string[] | null) {
    if (models) {
      const begun = await checkpoints.begin({
        runId,
        attemptId: null,
        sequence: 1,
        epoch: 1,
        step: 1,
        uri: `file:///ckpt/${runId}/1/`,
        models,
      });
      await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
    }
    await db.prisma.run.update({
      where: { id: runId },
      data: { status: 'SUCCEEDED', held: false, endedAt: new Date() },
    });
  }

  it("keeps and releases each stage's steps in the order the pipeline named them, not by name", async () => {
    const steps: [string, RunKind, string | null][] = [
      ['p', 'PRETRAIN', null],
      ['p-ft-5', 'FINETUNE', 'p'],
      ['p-ft-5 eval', 'EVALUATE', 'p-ft-5'],
      ['p-ft-10', 'FINETUNE', 'p'],
      ['p-ft-10 eval', 'EVALUATE', 'p-ft-10'],
    ];
    const { id, ids } = await pipeline(steps);
    expect((await pipelines.get(id))!.runs.map((run) => run.name)).toEqual([
      'p',
      'p-ft-5',
      'p-ft-10',
      'p-ft-5 eval',
      'p-ft-10 eval',
    ]);
    await succeed(ids.get('p')!, ['autoencoder', 'encoder']);
    expect((await pipelines.advance(id)).released.map((run) => run.id)).toEqual([
      ids.get('p-ft-5'),
      ids.get('p-ft-10'),
    ]);
  });

  it('never releases a step it cancels in the same advance: a later step failing ends the pipeline, with no job for either', async () => {
    // Two fine-tunes ended; "a-eval" can be released on a's classifier, "b-eval" cannot (b recorded none).
    const { id, ids } = await pipeline([
      ['p', 'PRETRAIN', null],
      ['a', 'FINETUNE', 'p'],
      ['b', 'FINETUNE', 'p'],
      ['a-eval', 'EVALUATE', 'a'],
      ['b-eval', 'EVALUATE', 'b'],
    ]);
    await succeed(ids.get('p')!, ['autoencoder', 'encoder']);
    await succeed(ids.get('a')!, ['classifier']);
    await succeed(ids.get('b')!, null);

    const outcome = await pipelines.advance(id);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.cancelled).toEqual([ids.get('a-eval')]);
    // The caller enqueues `released` (applyPipelineDecision): a CANCELLED run must not be there.
    expect(outcome.released).toEqual([]);
    const steps = await db.prisma.run.findMany({ where: { pipelineId: id }, select: { name: true, status: true } });
    expect(Object.fromEntries(steps.map((s) => [s.name, s.status]))).toEqual({
      p: 'SUCCEEDED',
      a: 'SUCCEEDED',
      b: 'SUCCEEDED',
      'a-eval': 'CANCELLED',
      'b-eval': 'FAILED',
    });
    expect((await pipelines.get(id))!.failureReason).toMatch(
      /b-eval.*FAILED.*no complete checkpoint holding a classifier/,
    );
  });

  it('still releases the steps of an advance that fails none', async () => {
    const { id, ids } = await pipeline([
      ['p', 'PRETRAIN', null],
      ['a', 'FINETUNE', 'p'],
      ['b', 'FINETUNE', 'p'],
    ]);
    await succeed(ids.get('p')!, ['autoencoder', 'encoder']);
    const outcome = await pipelines.advance(id);
    expect(outcome).toMatchObject({ status: 'RUNNING', cancelled: [] });
    expect(outcome.released.map((r) => r.id)).toEqual([ids.get('a'), ids.get('b')]);
  });

  it('pages running pipelines by (created_at, id), ties included, ended ones left out', async () => {
    await db.prisma.$executeRaw`UPDATE "pipelines" SET "status" = 'SUCCEEDED'`;
    const created: string[] = [];
    for (let i = 0; i < 6; i++) created.push((await pipeline([['p', 'PRETRAIN', null]])).id);
    const instant = new Date(Date.now() - 60_000);
    // Four created at one instant (ids break the tie), two later.
    await db.prisma.pipeline.updateMany({ where: { id: { in: created.slice(0, 4) } }, data: { createdAt: instant } });
    await db.prisma.pipeline.update({ where: { id: created[5]! }, data: { status: 'CANCELLED' } });

    const seen: string[] = [];
    const sizes: number[] = [];
    let after: CreatedCursor | null = null;
    for (;;) {
      const page = await pipelines.listRunning({ after, limit: 2 });
      sizes.push(page.length);
      seen.push(...page.map((p) => p.id));
      if (page.length < 2) break;
      after = page.at(-1)!;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...created.slice(0, 4).sort(), created[4]]);
  });
});
