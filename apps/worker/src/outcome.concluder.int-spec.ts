import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { loadConfig } from '@trainyard/config';
import type { RunSpec, TrainingJobData } from '@trainyard/contracts';
import {
  AttemptsRepository,
  AttemptWritesRepository,
  CheckpointsRepository,
  DatabaseOutageError,
  RunsRepository,
  type Database,
} from '@trainyard/db';
import { useDatabaseBehindProxy, type FreezableProxy } from '@trainyard/db/testing';
import { CheckpointStore, LocalObjectStore } from '@trainyard/storage';
import { CheckpointRetention } from './checkpoint-retention.service';
import { DatabasePatience, PatienceWindow } from './database-patience';
import { WorkerMetrics } from './metrics/worker-metrics';
import { OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
import { OutcomeConcluder } from './outcome.concluder';
import { RunLogs } from './run-logs/run-logs';
import type { TrainingContext } from './training-context';
import { HookedLogger } from './testing/hooked-logger';

const spec = { kind: 'pretrain', name: 'ae', dataset: { source: 'mnist' } } as unknown as RunSpec;
const PATIENCE_MS = 4000;

/**
 * An attempt's outcome recorded on real PostgreSQL reached through a proxy that plays a PostgreSQL
 * restart (open connections cut, new ones answered FATAL 57P03): a failed attempt's outcome is a
 * read (its failed attempts) and then a write, and the two together wait one
 * WORKER_DATABASE_OUTAGE_PATIENCE_MS, not one each; so does the last checkpoint's retention, which
 * the outcome waits for, with them.
 */
describe('OutcomeConcluder across PostgreSQL restarts (real PostgreSQL, local store)', () => {
  let direct: Database;
  let proxy: FreezableProxy;
  let folder: string;
  let concluder: OutcomeConcluder;
  let retention: CheckpointRetention;
  let store: CheckpointStore;
  let runLogs: RunLogs;
  const logger = new HookedLogger();

  useDatabaseBehindProxy(async (opened) => {
    ({ direct, proxy } = opened);
    Logger.overrideLogger(logger);
    folder = await mkdtemp(join(tmpdir(), 'trainyard-outcome-'));
    const config = loadConfig({
      WORKER_DATABASE_OUTAGE_PATIENCE_MS: String(PATIENCE_MS),
      WORKER_MAX_ATTEMPTS: '3',
      CHECKPOINT_KEEP_LAST: '1',
    });
    runLogs = new RunLogs(config, new LocalObjectStore(folder));
    store = new CheckpointStore(new LocalObjectStore(join(folder, 'checkpoints')));
    const patience = new DatabasePatience(config);
    const checkpoints = new CheckpointsRepository(opened.proxied.prisma);
    retention = new CheckpointRetention(
      config,
      store,
      checkpoints,
      new OrphanCheckpointSweeper(store, checkpoints),
      patience,
    );
    concluder = new OutcomeConcluder(
      config,
      new AttemptsRepository(opened.proxied.prisma),
      new AttemptWritesRepository(opened.proxied.prisma),
      new WorkerMetrics(),
      patience,
    );
  });
  afterAll(async () => {
    Logger.overrideLogger(new ConsoleLogger());
    await runLogs?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  /** A run with its attempt open, as a worker holds it while training. */
  async function attempt(name: string): Promise<TrainingContext> {
    const run = await new RunsRepository(direct.prisma).create({
      id: randomUUID(),
      kind: 'PRETRAIN',
      name,
      spec,
      baseRunId: null,
    });
    const opened = await new AttemptsRepository(direct.prisma).openCurrent(run.id, null);
    return {
      job: { id: run.id, data: { runId: run.id } } as Job<TrainingJobData>,
      token: undefined,
      fence: { runId: run.id, attemptId: opened.attempt.id },
      fenced: false,
      preemptRequested: false,
      retention: Promise.resolve(),
      log: runLogs.open({ runId: run.id, attempt: opened.attempt.number, jobId: run.id }),
    };
  }

  it('gives up once one patience window is spent, though the database came back between its read and its write', async () => {
    const context = await attempt('outcome in a flapping outage');
    // PostgreSQL stops; it is back for a moment near the end of the patience, long enough for the
    // outcome's read, and stops again the moment the read went on, before the write.
    logger.onLine = (message) => {
      if (/answers again .* counting its failed attempts went on/.test(message)) proxy.restart();
    };
    proxy.restart();
    const back = setTimeout(() => proxy.back(), PATIENCE_MS - 1000);
    const started = Date.now();
    const concluded = concluder.conclude(context, { status: 'failed', reason: 'a write gave up', retryable: true });
    const error = await concluded.then(
      () => null,
      (e: unknown) => e,
    );
    const tookMs = Date.now() - started;
    clearTimeout(back);
    logger.onLine = () => undefined;
    proxy.back();

    expect(error).toBeInstanceOf(DatabaseOutageError);
    expect((error as Error).message).toMatch(/^the database was unreachable for \d+ s/);
    // One window (4 s) and a try's deadline (1 s): before, the write waited a whole window of its own (about 7 s in all).
    expect(tookMs).toBeGreaterThanOrEqual(PATIENCE_MS - 1000);
    expect(tookMs).toBeLessThan(PATIENCE_MS + 1500);
    // Nothing was recorded: the attempt is left to be closed CRASHED, as when the database is gone for longer.
    const attempts = await new AttemptsRepository(direct.prisma).listByRun(context.fence.runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['RUNNING']);
  }, 60_000);

  it('counts the last checkpoint’s retention, still waiting when the training ended, in the same window', async () => {
    const context = await attempt('outcome after a waiting retention');
    const checkpoints = new CheckpointsRepository(direct.prisma);
    for (const sequence of [1, 2]) {
      const written = await store.write(context.fence.runId, sequence, { 'model/model.json': Buffer.from('{}') }, {});
      await checkpoints.recordComplete(context.fence, {
        sequence,
        epoch: sequence,
        step: sequence,
        models: ['autoencoder'],
        ...written,
      });
    }
    const started = Date.now();
    proxy.restart();
    // The last checkpoint's retention, begun while training (as RunEventsApplier begins it), waits.
    context.retention = retention.apply(context.fence, context.log, () => context.outcomeWindow);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // The training ended (as TrainingProcessor goes on): the outcome waits for the retention, then writes.
    context.outcomeWindow ??= new PatienceWindow();
    await context.retention;
    const error = await concluder.conclude(context, { status: 'succeeded' }).then(
      () => null,
      (e: unknown) => e,
    );
    const tookMs = Date.now() - started;
    proxy.back();

    expect(error).toBeInstanceOf(DatabaseOutageError);
    // One window (4 s) and a try's deadline (1 s): before, the outcome's write waited a window of its own after the retention's (8 s in all).
    expect(tookMs).toBeGreaterThanOrEqual(PATIENCE_MS);
    expect(tookMs).toBeLessThan(PATIENCE_MS + 1500);
    const attempts = await new AttemptsRepository(direct.prisma).listByRun(context.fence.runId);
    expect(attempts.map((a) => a.outcome)).toEqual(['RUNNING']);
  }, 60_000);
});
