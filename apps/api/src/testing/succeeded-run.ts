import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { CheckpointsRepository, RunsRepository } from '@trainyard/db';

/**
 * Checkpoint #1 (epoch 1, step 3) of a RUNNING run, COMPLETE at `uri` holding `models`, as a
 * worker records one (the store is the caller's): its id.
 */
export async function completeCheckpoint(
  app: INestApplication,
  runId: string,
  { uri, models, bytes = 10 }: { uri: string; models: string[]; bytes?: number },
): Promise<string> {
  const checkpoints = app.get(CheckpointsRepository);
  const checkpoint = await checkpoints.begin({ runId, attemptId: null, sequence: 1, epoch: 1, step: 3, uri, models });
  await checkpoints.complete(checkpoint.id, bytes, 'f'.repeat(64));
  return checkpoint.id;
}

/**
 * A SUCCEEDED run of `project` (a pretrain of synthetic shapes unless `kind` and `spec` say
 * otherwise) with one COMPLETE checkpoint holding `models`, as a worker leaves it (nothing in the
 * store): what a model version is registered from.
 */
export async function succeededRun(
  app: INestApplication,
  {
    project = 'default',
    kind = 'PRETRAIN',
    spec = { kind: 'pretrain', name: 'base', dataset: { name: 'synthetic-shapes' } },
    models = ['autoencoder', 'encoder'],
  }: { project?: string; kind?: 'PRETRAIN' | 'FINETUNE'; spec?: object; models?: string[] } = {},
): Promise<string> {
  const runs = app.get(RunsRepository);
  const id = randomUUID();
  await runs.create({ id, kind, name: `${project} base`, spec: spec as never, baseRunId: null, project });
  await runs.markRunning(id, 'cpu');
  await completeCheckpoint(app, id, { uri: `file:///x/${id}/`, models });
  await runs.finish(id, 'SUCCEEDED');
  return id;
}
