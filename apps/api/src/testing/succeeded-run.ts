import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { CheckpointsRepository, RunsRepository } from '@trainyard/db';

/**
 * A SUCCEEDED pretrain of `project` with one COMPLETE checkpoint holding `models`, as a worker
 * leaves it (nothing in the store): what a model version is registered from.
 */
export async function succeededPretrain(
  app: INestApplication,
  { project = 'default', models = ['autoencoder', 'encoder'] }: { project?: string; models?: string[] } = {},
): Promise<string> {
  const runs = app.get(RunsRepository);
  const checkpoints = app.get(CheckpointsRepository);
  const id = randomUUID();
  const spec = { kind: 'pretrain', name: 'base', dataset: { name: 'synthetic-shapes' } };
  await runs.create({ id, kind: 'PRETRAIN', name: 'base', spec: spec as never, baseRunId: null, project });
  await runs.markRunning(id, 'cpu');
  const checkpoint = await checkpoints.begin({
    runId: id,
    attemptId: null,
    sequence: 1,
    epoch: 1,
    step: 3,
    uri: `file:///x/${id}/`,
    models,
  });
  await checkpoints.complete(checkpoint.id, 10, 'f'.repeat(64));
  await runs.finish(id, 'SUCCEEDED');
  return id;
}
