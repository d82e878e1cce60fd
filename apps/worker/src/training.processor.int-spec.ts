import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import type { Job } from 'bullmq';
import { loadConfig } from '@trainyard/config';
import type { RunSpec, TrainingJobData } from '@trainyard/contracts';
import { AttemptsRepository, DatabaseOutageError, RunsRepository, type Database } from '@trainyard/db';
import { useDatabaseBehindProxy, type FreezableProxy } from '@trainyard/db/testing';
import { createWorker } from './create-worker';
import { TrainingProcessor } from './training.processor';
import { HookedLogger } from './testing/hooked-logger';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;
const PATIENCE_MS = 4000;

/**
 * A job whose run used up WORKER_MAX_ATTEMPTS, taken by a worker (the whole worker module, in
 * process) whose PostgreSQL, reached through a proxy, restarts twice: while the processor reads the
 * run's attempts to say why it fails, and again, after answering for a moment, as the failure is
 * recorded. The read and the write wait one WORKER_DATABASE_OUTAGE_PATIENCE_MS between them, as an
 * outcome's calls do (OutcomeConcluder), not one each.
 */
describe('TrainingProcessor failing a run across PostgreSQL restarts (real PostgreSQL, Redis)', () => {
  let direct: Database;
  let proxy: FreezableProxy;
  let home: string;
  let app: INestApplicationContext;
  const logger = new HookedLogger();

  useDatabaseBehindProxy(async (opened) => {
    ({ direct, proxy } = opened);
    home = await mkdtemp(join(tmpdir(), 'trainyard-processor-'));
    const config = loadConfig({
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: `test-${randomUUID()}`,
      REDIS_URL: `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`,
      WORKER_DATABASE_OUTAGE_PATIENCE_MS: String(PATIENCE_MS),
      WORKER_MAX_ATTEMPTS: '1',
      WORKER_PRESTART: 'false',
      WORKER_RECONCILE_INTERVAL_MS: '3600000',
    });
    app = await createWorker(config, { database: opened.proxied, logger });
  });
  afterAll(async () => {
    await app?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('waits one patience window for the read before a failure and the failure’s write together', async () => {
    const run = await new RunsRepository(direct.prisma).create({
      id: randomUUID(),
      kind: 'PRETRAIN',
      name: 'failed for good in a flapping outage',
      spec,
      baseRunId: null,
    });
    // Its one attempt left RUNNING by a lost worker: closed CRASHED as the job opens the next, which
    // then fails the run (WORKER_MAX_ATTEMPTS=1), reading its attempts to say why.
    await new AttemptsRepository(direct.prisma).openCurrent(run.id, null);
    const job = { id: run.id, data: { runId: run.id } } as Job<TrainingJobData>;
    let back: NodeJS.Timeout | undefined;
    let started = 0;
    logger.onLine = (message) => {
      // The attempt is open: PostgreSQL restarts before the read of its attempts, and is back for a
      // moment near the end of the patience, long enough for the read.
      if (message.includes('was left RUNNING; closed as CRASHED')) {
        started = Date.now();
        proxy.restart();
        back = setTimeout(() => proxy.back(), PATIENCE_MS - 1000);
      }
      // It stops again the moment the read went on, before the failure is recorded.
      if (/answers again .* listing its attempts went on/.test(message)) proxy.restart();
    };
    const error = await app
      .get(TrainingProcessor)
      .process(job)
      .then(
        () => null,
        (e: unknown) => e,
      );
    const tookMs = Date.now() - started;
    clearTimeout(back);
    logger.onLine = () => undefined;
    proxy.back();

    expect(error).toBeInstanceOf(DatabaseOutageError);
    // The write waited only what the read left of the window. Before, it waited a window of its
    // own: "… recording its attempt FAILED waits for the database …; it tries again for up to 4 s".
    const writeWaits = logger.lines.find((line) =>
      line.includes('recording its attempt FAILED waits for the database'),
    );
    expect(writeWaits).toMatch(/tries again for up to (\d+ ms|1 s)/);
    // One window (4 s), a try's deadline (1 s) and the slot's release (up to 2 s with the database away).
    expect(tookMs).toBeLessThan(PATIENCE_MS + 3500);
    // Nothing was recorded: the attempt is left to be closed CRASHED, as when the database is gone for longer.
    const attempts = await new AttemptsRepository(direct.prisma).listByRun(run.id);
    expect(attempts.map((a) => a.outcome)).toEqual(['CRASHED', 'RUNNING']);
  }, 60_000);
});
