import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '@trainyard/config';
import type { RunSpec } from '@trainyard/contracts';
import { RunsRepository, WorkersRepository, type Database } from '@trainyard/db';
import { useMigratedDatabase } from '@trainyard/db/testing';
import { createWorker } from './create-worker';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;
const DAY_MS = 86_400_000;

/**
 * Every worker start adds a row to `workers`; an autoscaled fleet starts hundreds a day. A starting
 * worker (the whole worker module, in process) forgets those stopped longer than
 * WORKER_STOPPED_RETENTION_MS (30 days by default), so the table holds a month, not every worker ever.
 */
describe('a starting worker forgets workers stopped past WORKER_STOPPED_RETENTION_MS (real PostgreSQL, Redis)', () => {
  let db: Database;
  let home: string;
  let app: INestApplicationContext | undefined;

  useMigratedDatabase(async (opened) => {
    db = opened;
    home = await mkdtemp(join(tmpdir(), 'trainyard-stopped-workers-'));
  });
  afterAll(async () => {
    await app?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const addWorker = (id: string, stoppedDaysAgo: number | null, reason = 'shutdown') =>
    db.prisma.$executeRaw`
      INSERT INTO "workers" ("id", "hostname", "pid", "concurrency", "started_at", "last_heartbeat_at", "stopped_at", "stop_reason")
      VALUES (${id}, 'old-node', 1, 1, now() - interval '60 days', now() - interval '60 days',
        ${stoppedDaysAgo === null ? null : new Date(Date.now() - stoppedDaysAgo * DAY_MS)}, ${stoppedDaysAgo === null ? null : reason})`;
  const addAttempt = async (workerId: string, outcome: 'SUCCEEDED' | 'RUNNING') => {
    const run = await new RunsRepository(db.prisma).create({
      id: randomUUID(),
      kind: 'PRETRAIN',
      name: `attempt on ${workerId}`,
      spec,
      baseRunId: null,
    });
    const [row] = await db.prisma.$queryRaw<{ id: string }[]>`
      INSERT INTO "attempts" ("id", "run_id", "number", "worker_id", "outcome", "ended_at")
      VALUES (${randomUUID()}::uuid, ${run.id}::uuid, 1, ${workerId}, ${outcome}::"AttemptOutcome", ${outcome === 'RUNNING' ? null : new Date()})
      RETURNING "id"::text AS id`;
    return row!.id;
  };
  const workerIds = async () =>
    (await db.prisma.worker.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((w) => w.id);

  it('deletes the stopped ones past retention, keeping their attempts; keeps recent ones and any with a RUNNING attempt', async () => {
    await addWorker('stopped-40-days-ago', 40);
    const endedAttempt = await addAttempt('stopped-40-days-ago', 'SUCCEEDED');
    await addWorker('retired-lost-40-days-ago-still-running', 40, 'lost');
    await addAttempt('retired-lost-40-days-ago-still-running', 'RUNNING');
    await addWorker('stopped-31-days-ago', 31, 'lost');
    await addWorker('stopped-10-days-ago', 10);
    await addWorker('never-stopped', null);

    const config = loadConfig({
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: `test-${randomUUID()}`,
      REDIS_URL: `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`,
      WORKER_PRESTART: 'false',
      WORKER_RECONCILE_INTERVAL_MS: '3600000',
    });
    expect(config.worker.stoppedRetentionMs).toBe(30 * DAY_MS); // the default
    app = await createWorker(config, { database: db, logger: false });

    const ids = await workerIds();
    expect(ids.filter((id) => !id.includes(`-${process.pid}-`))).toEqual([
      'never-stopped',
      'retired-lost-40-days-ago-still-running',
      'stopped-10-days-ago',
    ]);
    expect(ids).toHaveLength(4); // and the worker that started
    const attempt = await db.prisma.attempt.findUniqueOrThrow({ where: { id: endedAttempt } });
    expect(attempt).toMatchObject({ outcome: 'SUCCEEDED', workerId: null });
  });

  it('forgets at most a batch a call, the longest stopped first', async () => {
    for (let i = 0; i < 5; i++) await addWorker(`backlog-${i}`, 100 - i);
    const workers = new WorkersRepository(db.prisma);
    expect(await workers.forgetStopped(new Date(Date.now() - 30 * DAY_MS), 2)).toBe(2);
    const left = (await workerIds()).filter((id) => id.startsWith('backlog-'));
    expect(left).toEqual(['backlog-2', 'backlog-3', 'backlog-4']);
  });
});
