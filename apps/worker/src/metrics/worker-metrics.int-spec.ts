import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '@trainyard/config';
import { WorkersRepository } from '@trainyard/db';
import { createFreshDatabase, type FreshDatabase } from '@trainyard/db/testing';
import type { TrainingEvent } from '@trainyard/training/supervisor';
import { createWorker } from '../create-worker';
import { WORKER_OPTIONS, type WorkerOptions } from '../worker.tokens';
import { WorkerMetrics } from './worker-metrics';
import { WorkerMetricsServer } from './worker-metrics.server';

const REDIS_URL = `redis://127.0.0.1:${process.env['TRAINYARD_TEST_REDIS_PORT'] ?? 6379}`;

/** One sample's value from Prometheus text, e.g. `trainyard_worker_jobs_total{outcome="failed"}`. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * A real worker (PostgreSQL, Redis, its own queue) started with WORKER_METRICS_PORT=0, scraped
 * over HTTP: the server is wired into the worker app, serves every series from the start (zeros
 * included, so rate() and alerts work before the first event), and counts what the hooks report.
 */
describe('worker /metrics (real worker, PostgreSQL, Redis)', () => {
  let fresh: FreshDatabase;
  let home: string;
  let worker: INestApplicationContext | undefined;
  let base: string;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    home = await mkdtemp(join(tmpdir(), 'trainyard-worker-metrics-'));
    const config = loadConfig({
      DATABASE_URL: fresh.url,
      REDIS_URL,
      TRAINYARD_HOME: home,
      TRAINYARD_QUEUE: `test-${randomUUID()}`,
      WORKER_METRICS_PORT: '0',
      WORKER_RECONCILE_INTERVAL_MS: '3600000',
      // A drain reaches the worker with its heartbeat's answer: short, so /readyz follows it quickly.
      WORKER_HEARTBEAT_INTERVAL_MS: '200',
    });
    worker = await createWorker(config, { logger: false });
    base = `http://127.0.0.1:${worker.get(WorkerMetricsServer).port()}`;
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await fresh.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('serves every series, zeros included, with the process metrics', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await response.text();
    for (const outcome of ['succeeded', 'failed', 'retried', 'cancelled', 'preempted', 'fenced']) {
      expect(sample(body, `trainyard_worker_jobs_total{outcome="${outcome}"}`)).toBe(0);
    }
    expect(sample(body, 'trainyard_worker_images_per_second')).toBe(0);
    expect(sample(body, 'trainyard_worker_checkpoint_bytes_total')).toBe(0);
    expect(sample(body, 'trainyard_worker_checkpoint_failures_total{stage="record"}')).toBe(0);
    expect(sample(body, 'trainyard_worker_child_crashes_total{cause="exited"}')).toBe(0);
    expect(sample(body, 'trainyard_worker_child_crashes_total{cause="unresponsive"}')).toBe(0);
    expect(sample(body, 'trainyard_worker_queue_wait_seconds_count')).toBe(0);
    expect(sample(body, 'trainyard_worker_project_limit_jobs_total{action="parked"}')).toBe(0);
    expect(sample(body, 'trainyard_worker_project_limit_jobs_total{action="released"}')).toBe(0);
    expect(body).toContain('trainyard_worker_process_resident_memory_bytes');
  });

  it('counts what the processor and the concluder report', async () => {
    const metrics = worker!.get(WorkerMetrics);
    const now = Date.now();
    metrics.trainingStarted({ timestamp: now - 42_000 }, 1, now);
    metrics.trainingStarted({ timestamp: now - 99_000 }, 2, now); // a retry: not a queue wait
    const apply = metrics.instrument('run-1', async (event) => {
      if (event.type === 'checkpoint' && event.sequence === 2) throw new Error('PostgreSQL went away');
    });
    await apply({ type: 'progress', progress: { imagesPerSec: 512 } as never });
    const checkpoint: TrainingEvent = {
      type: 'checkpoint',
      sequence: 1,
      epoch: 1,
      step: 9,
      uri: 'runs/run-1/checkpoints/1/',
      bytes: 4096,
      sha256: 'x',
      models: ['model'],
      reason: 'interval',
    };
    await apply(checkpoint);
    await expect(apply({ ...checkpoint, sequence: 2 })).rejects.toThrow('PostgreSQL went away');
    await apply({ type: 'checkpoint-corrupt', sequence: 0, reason: 'sha256 mismatch' });
    metrics.trainingEnded('run-0', { status: 'succeeded' }, false);
    // A crash counts by its structured record, whatever the reason's wording; a failure without one is no crash.
    const crash = { pid: 4242, exitCode: null, signal: 'SIGKILL' as const, stderrTail: [] };
    metrics.trainingEnded(
      'run-2',
      {
        status: 'failed',
        reason: 'training process of run run-2 (pid 4242) ended without an outcome',
        retryable: true,
        crash,
      },
      false,
    );
    metrics.trainingEnded(
      'run-3',
      { status: 'failed', reason: 'hung', retryable: true, crash: { ...crash, silentMs: 5000 } },
      false,
    );
    metrics.trainingEnded(
      'run-4',
      { status: 'failed', reason: 'training process ended without an outcome (no crash record)', retryable: true },
      false,
    );
    metrics.jobEnded('retried');

    const body = await (await fetch(`${base}/metrics`)).text();
    expect(sample(body, 'trainyard_worker_images_per_second')).toBe(512);
    expect(sample(body, 'trainyard_worker_checkpoints_total')).toBe(1);
    expect(sample(body, 'trainyard_worker_checkpoint_bytes_total')).toBe(4096);
    expect(sample(body, 'trainyard_worker_checkpoint_failures_total{stage="record"}')).toBe(1);
    expect(sample(body, 'trainyard_worker_checkpoint_failures_total{stage="corrupt"}')).toBe(1);
    expect(sample(body, 'trainyard_worker_child_crashes_total{cause="exited"}')).toBe(1);
    expect(sample(body, 'trainyard_worker_child_crashes_total{cause="unresponsive"}')).toBe(1);
    expect(sample(body, 'trainyard_worker_jobs_total{outcome="succeeded"}')).toBe(1);
    expect(sample(body, 'trainyard_worker_jobs_total{outcome="retried"}')).toBe(1);
    expect(sample(body, 'trainyard_worker_queue_wait_seconds_count')).toBe(1);
    expect(sample(body, 'trainyard_worker_queue_wait_seconds_sum')).toBe(42);

    // A run's throughput stops counting once it ends.
    metrics.trainingEnded('run-1', { status: 'preempted' }, false);
    expect(sample(await (await fetch(`${base}/metrics`)).text(), 'trainyard_worker_images_per_second')).toBe(0);
  });

  it('answers /healthz for probes and 404 elsewhere', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
  });

  it('is ready on /readyz while it consumes, not while drained (alive all along), and ready again when the drain is taken back', async () => {
    const readyz = async () => {
      const response = await fetch(`${base}/readyz`);
      return [response.status, await response.text()];
    };
    const until = async (expected: (string | number)[]) => {
      const deadline = Date.now() + 10_000;
      let seen = await readyz();
      while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        seen = await readyz();
      }
      return seen;
    };
    expect(await readyz()).toEqual([200, 'consuming\n']);
    const workers = worker!.get(WorkersRepository);
    const { workerId } = worker!.get<symbol, WorkerOptions>(WORKER_OPTIONS);
    expect(await workers.requestDrain(workerId, 'preempt')).toBe(true);
    expect(await until([503, 'draining\n'])).toEqual([503, 'draining\n']);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await workers.cancelDrain(workerId)).toBe(true);
    expect(await until([200, 'consuming\n'])).toEqual([200, 'consuming\n']);
  });
});
