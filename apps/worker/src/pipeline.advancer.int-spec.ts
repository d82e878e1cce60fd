import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { loadConfig } from '@trainyard/config';
import { RunSpecSchema } from '@trainyard/contracts';
import { CheckpointsRepository, PipelinesRepository, type Database } from '@trainyard/db';
import { useDatabaseBehindProxy, type FreezableProxy } from '@trainyard/db/testing';
import { createRedisConnection, TrainingQueues } from '@trainyard/queue';
import { DatabasePatience } from './database-patience';
import { PipelineAdvancer } from './pipeline.advancer';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const shapes = { name: 'synthetic-shapes', imageSize: 8 };
/** Longer than the ~3 s a plain connection retry gives a call. */
const OUTAGE_MS = 6000;

/**
 * A pipeline moved on after its step ended, on real PostgreSQL reached through a proxy that plays a
 * PostgreSQL restart (open connections cut, new ones answered FATAL 57P03), and a real Redis: the
 * next step is enqueued once the database answers, not left to the reconciler's next pass.
 */
describe('PipelineAdvancer across a PostgreSQL restart (real PostgreSQL, Redis)', () => {
  let direct: Database;
  let proxy: FreezableProxy;
  let connection: Redis;
  let queues: TrainingQueues;
  let advancer: PipelineAdvancer;

  useDatabaseBehindProxy((opened) => {
    ({ direct, proxy } = opened);
    connection = createRedisConnection(REDIS_URL);
    queues = new TrainingQueues(connection, `test-${randomUUID()}`);
    const config = loadConfig({ WORKER_DATABASE_OUTAGE_PATIENCE_MS: '60000' });
    const pipelines = new PipelinesRepository(opened.proxied.prisma);
    advancer = new PipelineAdvancer(config, queues, pipelines, new DatabasePatience(config));
  });
  afterAll(async () => {
    for (const [, queue] of queues?.entries() ?? []) await queue.obliterate({ force: true });
    await queues?.close();
    await connection?.quit();
  });

  it('enqueues the next step as soon as the database is back, not giving up after ~3 s', async () => {
    const pipelineId = randomUUID();
    const [first, next] = [randomUUID(), randomUUID()];
    await new PipelinesRepository(direct.prisma).create({ id: pipelineId, name: 'pl', spec: {}, project: 'default' }, [
      {
        id: first,
        kind: 'PRETRAIN',
        name: 'p',
        spec: RunSpecSchema.parse({ kind: 'pretrain', name: 'p', dataset: shapes }),
        baseRunId: null,
        held: false,
      },
      {
        id: next,
        kind: 'FINETUNE',
        name: 'ft',
        spec: RunSpecSchema.parse({ kind: 'finetune', name: 'ft', dataset: shapes }),
        baseRunId: first,
        held: true,
      },
    ]);
    // The first step SUCCEEDED with a checkpoint holding an encoder, which the fine-tune starts from.
    const checkpoints = new CheckpointsRepository(direct.prisma);
    const begun = await checkpoints.begin({
      runId: first,
      attemptId: null,
      sequence: 1,
      epoch: 1,
      step: 1,
      uri: `file:///ckpt/${first}/1/`,
      models: ['autoencoder', 'encoder'],
    });
    await checkpoints.complete(begun.id, 1, 'a'.repeat(64));
    await direct.prisma.run.update({ where: { id: first }, data: { status: 'SUCCEEDED', endedAt: new Date() } });

    proxy.restart();
    const advanced = advancer.advanceAfterStep(pipelineId, first);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    proxy.back();
    const backAt = Date.now();
    await advanced;
    // Its waits are 5 s at most (DATABASE_RETRY_MAX_DELAY_MS): the step is enqueued within them.
    expect(Date.now() - backAt).toBeLessThan(6000);

    expect((await queues.getJob(next))?.data).toEqual({ runId: next });
    const { held, status } = (await direct.prisma.run.findUniqueOrThrow({ where: { id: next } })) as {
      held: boolean;
      status: string;
    };
    expect({ held, status }).toEqual({ held: false, status: 'QUEUED' });
  }, 60_000);
});
