import { randomUUID } from 'node:crypto';
import type { RunSpec } from '@trainyard/contracts';
import { AttemptsRepository } from './attempts.repository';
import { CheckpointsRepository } from './checkpoints.repository';
import { ModelVersionsRepository } from './model-versions.repository';
import type { Database } from './open-database';
import { RunsRepository } from './runs.repository';
import { useMigratedDatabase } from './testing';

const spec = { kind: 'pretrain', name: 'ae' } as unknown as RunSpec;

/**
 * Retention never deletes a checkpoint something stands on: a registered model version, or a
 * fine-tune run's base. Both in the candidate list and in the DELETE mark itself, which re-checks
 * the pins in its own statement (a model registered between the two must survive).
 */
describe('checkpoint retention pins (PostgreSQL)', () => {
  let db: Database;
  let runs: RunsRepository;
  let checkpoints: CheckpointsRepository;
  let models: ModelVersionsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    runs = new RunsRepository(db.prisma);
    checkpoints = new CheckpointsRepository(db.prisma);
    models = new ModelVersionsRepository(db.prisma);
  });

  /** A RUNNING pretrain holding six COMPLETE checkpoints; loss falls to sequence 3, then rises. */
  async function runWithCheckpoints() {
    const run = await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'pinned', spec, baseRunId: null });
    const { attempt } = await new AttemptsRepository(db.prisma).openCurrent(run.id, null);
    const fence = { runId: run.id, attemptId: attempt.id };
    const losses = [0.9, 0.5, 0.1, 0.3, 0.4, 0.6];
    for (const [i, loss] of losses.entries()) {
      const sequence = i + 1;
      await checkpoints.recordComplete(fence, {
        sequence,
        epoch: sequence,
        step: sequence * 10,
        uri: `s3://b/runs/${run.id}/checkpoints/${sequence}/`,
        models: ['encoder'],
        bytes: 1,
        sha256: 'a'.repeat(64),
        metric: { name: 'loss', value: loss },
      });
    }
    const bySeq = new Map((await checkpoints.listByRun(run.id)).map((c) => [c.sequence, c]));
    return { run, fence, bySeq };
  }

  it('keeps the newest, the best, a registered model version and a fine-tune base; offers the rest', async () => {
    const { run, bySeq } = await runWithCheckpoints();
    await models.register({
      name: 'digits-encoder',
      project: 'default',
      runId: run.id,
      checkpointId: bySeq.get(1)!.id,
    });
    await runs.create({
      id: randomUUID(),
      kind: 'FINETUNE',
      name: 'on 2',
      spec,
      baseRunId: run.id,
      baseCheckpointId: bySeq.get(2)!.id,
    });

    const victims = await checkpoints.retentionCandidates(run.id, 1);
    // 1: model version, 2: fine-tune base, 3: best loss, 6: newest.
    expect(victims.map((c) => c.sequence)).toEqual([4, 5]);
  });

  it('refuses to mark DELETED a checkpoint registered as a model after the candidates were read', async () => {
    const { run, fence, bySeq } = await runWithCheckpoints();
    const victims = await checkpoints.retentionCandidates(run.id, 1);
    expect(victims.map((c) => c.sequence)).toEqual([1, 2, 4, 5]);

    await models.register({
      name: 'late-registration',
      project: 'default',
      runId: run.id,
      checkpointId: bySeq.get(1)!.id,
    });
    const marked = await checkpoints.markDeleted(
      fence,
      victims.map((c) => c.id),
    );
    expect(marked.sort()).toEqual([2, 4, 5].map((s) => bySeq.get(s)!.id).sort());
    const statuses = new Map((await checkpoints.listByRun(run.id)).map((c) => [c.sequence, c.status]));
    expect([...statuses]).toEqual([
      [1, 'COMPLETE'],
      [2, 'DELETED'],
      [3, 'COMPLETE'],
      [4, 'DELETED'],
      [5, 'DELETED'],
      [6, 'COMPLETE'],
    ]);
    // The registered version still resolves to a checkpoint a fine-tune can read.
    expect((await models.get('late-registration', 1, 'default'))?.checkpoint).toMatchObject({
      sequence: 1,
      status: 'COMPLETE',
    });
  });
});
