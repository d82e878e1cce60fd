import type { DrainMode, Placement, ResourceClass, WorkerState, WorkerView } from '@trainyard/contracts';
import { resourceClassOf, WORKER_STATES } from '@trainyard/contracts';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import { WorkerNotFoundError } from './errors';
import { drainModeOf, workerView } from './views';
import { liveWorker, workerState } from './worker-state';

export interface WorkerRegistration {
  id: string;
  hostname: string;
  pid: number;
  backend: string | null;
  /** The GPU model(s) it trains on; null without a GPU backend. */
  gpu: string | null;
  /** How many GPUs it trains on (0 when not given). */
  gpuCount?: number;
  /** Memory of one of them in MiB, when known. */
  gpuMemoryMb?: number | null;
  /** The classes whose queues it consumes (`any` alone when not given). */
  resourceClasses?: ResourceClass[];
  /** Its RAM in MiB, when known. */
  memoryMb?: number | null;
  concurrency: number;
  /** The PROJECT_MAX_RUNNING it applies (null or not given: none). */
  projectMaxRunning?: number | null;
}

/**
 * How many live workers there are, how many of them could serve a given run, and how many of
 * those serving ones are draining or drained (live, but taking no job until the drain is taken back).
 */
export interface Servability {
  live: number;
  serving: number;
  draining: number;
}

/** A worker the fleet retired: lost for WORKER_LOST_RETIRE_MS, now recorded as stopped (reason `lost`). */
export interface RetiredWorker {
  id: string;
  lastHeartbeatAt: Date;
}

/** What a heartbeat tells the worker: whether (and how) it has been asked to drain. */
export interface DrainOrder {
  mode: DrainMode;
  requestedAt: Date;
}

const FLEET_SHOWN = 200;
/**
 * Stopped workers one start deletes at most: starts are what add rows, so a start that forgets a
 * few hundred keeps up, and the first start after an upgrade does not hold the worker back for a
 * year's backlog (each one also clears its attempts' worker_id).
 */
export const STOPPED_WORKERS_FORGOTTEN_PER_START = 500;

/** Worker processes and their heartbeats, so operators can tell a live fleet from a dead one. */
export class WorkersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Re-registering an id (a restarted worker) starts it afresh, with no drain pending, rather than failing. */
  async register(input: WorkerRegistration): Promise<void> {
    const now = new Date();
    const fields = {
      hostname: input.hostname,
      pid: input.pid,
      backend: input.backend,
      gpu: input.gpu,
      gpuCount: input.gpuCount ?? 0,
      gpuMemoryMb: input.gpuMemoryMb ?? null,
      resourceClasses: input.resourceClasses ?? ['any'],
      memoryMb: input.memoryMb ?? null,
      concurrency: input.concurrency,
      projectMaxRunning: input.projectMaxRunning ?? null,
      startedAt: now,
      lastHeartbeatAt: now,
      stoppedAt: null,
      stopReason: null,
      drainRequestedAt: null,
      drainMode: null,
      drainedAt: null,
    };
    await this.prisma.worker.upsert({ where: { id: input.id }, create: { id: input.id, ...fields }, update: fields });
  }

  /**
   * Records that the worker lives, and answers with the drain it was asked for, if any. A worker
   * the fleet retired as lost that beats again (a long partition, a frozen process) was not dead
   * after all: it is running again, as it is; one that stopped itself stays stopped.
   */
  async heartbeat(id: string): Promise<DrainOrder | null> {
    const [row] = await this.prisma.$queryRaw<{ drainRequestedAt: Date | null; drainMode: string | null }[]>`
      UPDATE "workers"
      SET "last_heartbeat_at" = ${new Date()},
          "stopped_at" = CASE WHEN "stop_reason" = 'lost' THEN NULL ELSE "stopped_at" END,
          "stop_reason" = CASE WHEN "stop_reason" = 'lost' THEN NULL ELSE "stop_reason" END
      WHERE "id" = ${id}
      RETURNING "drain_requested_at" AS "drainRequestedAt", "drain_mode" AS "drainMode"`;
    if (!row) throw new WorkerNotFoundError(id);
    return row.drainRequestedAt
      ? { mode: drainModeOf(row.drainMode ?? 'preempt'), requestedAt: row.drainRequestedAt }
      : null;
  }

  /**
   * Asks a running worker to drain (it learns at its next heartbeat). Asking again keeps the
   * first request's time; `preempt` overrides an earlier `finish`, never the reverse. Returns
   * false when no such worker runs (unknown or stopped) or, with `lostAfterMs`, when it is lost (no
   * heartbeat would carry the request to it).
   */
  async requestDrain(id: string, mode: DrainMode, lostAfterMs?: number): Promise<boolean> {
    const now = new Date();
    const running =
      lostAfterMs === undefined
        ? Prisma.sql`"stopped_at" IS NULL`
        : liveWorker('"workers"', new Date(now.getTime() - lostAfterMs));
    const rows = await this.prisma.$executeRaw`
      UPDATE "workers"
      SET "drain_requested_at" = COALESCE("drain_requested_at", ${now}),
          "drain_mode" = CASE WHEN "drain_mode" = 'preempt' THEN 'preempt' ELSE ${mode} END
      WHERE "id" = ${id} AND ${running}`;
    return rows > 0;
  }

  /** Takes a drain request back: the worker consumes again at its next heartbeat. False when no such worker runs. */
  async cancelDrain(id: string): Promise<boolean> {
    const { count } = await this.prisma.worker.updateMany({
      where: { id, stoppedAt: null },
      data: { drainRequestedAt: null, drainMode: null, drainedAt: null },
    });
    return count > 0;
  }

  /** The worker holds no job any more (only while the drain it finished still stands). */
  async markDrained(id: string): Promise<void> {
    await this.prisma.worker.updateMany({
      where: { id, drainRequestedAt: { not: null } },
      data: { drainedAt: new Date() },
    });
  }

  /** The worker stopped itself (reason `shutdown`). */
  async stop(id: string): Promise<void> {
    await this.prisma.worker.updateMany({ where: { id }, data: { stoppedAt: new Date(), stopReason: 'shutdown' } });
  }

  /**
   * Deletes up to `limit` workers stopped before `stoppedBefore`, and returns how many. Every worker
   * start adds a row and nothing else removed one: a year of autoscaling left ~100,000, which every
   * submit's check for a live worker (servability) and the fleet page read through (16 ms and
   * 106 ms p50 at 100,000 rows, 2.4 ms and 5 ms with none stopped). Their ended attempts stay, with
   * worker_id cleared (ON DELETE SET NULL). A worker with a RUNNING attempt is kept whatever its
   * age: a retired-as-lost worker's attempt is the reconciler's to close, and its error names the
   * worker.
   */
  async forgetStopped(stoppedBefore: Date, limit = STOPPED_WORKERS_FORGOTTEN_PER_START): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM "workers" WHERE "id" IN (
        SELECT w."id" FROM "workers" w
        WHERE w."stopped_at" < ${stoppedBefore}
          AND NOT EXISTS (SELECT 1 FROM "attempts" a WHERE a."worker_id" = w."id" AND a."outcome" = 'RUNNING')
        ORDER BY w."stopped_at"
        LIMIT ${limit})`;
  }

  /**
   * Records as stopped (reason `lost`) every worker lost for `retireMs` past its `lostAfterMs` of
   * silence, and returns them. One statement with its condition in the WHERE: passes of several
   * workers at once retire each row once, and one that beat meanwhile is left alone. Its RUNNING
   * attempts are not touched: taking its runs over is the stalled-job check's and the
   * reconciler's, as for any lost worker (a retired worker is no more alive than a lost one).
   */
  async retireLost(lostAfterMs: number, retireMs: number): Promise<RetiredWorker[]> {
    const now = new Date();
    return this.prisma.$queryRaw<RetiredWorker[]>`
      UPDATE "workers" SET "stopped_at" = ${now}, "stop_reason" = 'lost'
      WHERE "stopped_at" IS NULL AND "last_heartbeat_at" < ${new Date(now.getTime() - lostAfterMs - retireMs)}
      RETURNING "id", "last_heartbeat_at" AS "lastHeartbeatAt"`;
  }

  /**
   * The fleet, running workers first, each with its state and the attempts it is training now;
   * with `project`, only the attempts of that project's runs.
   */
  async fleet(lostAfterMs: number, project?: string): Promise<WorkerView[]> {
    const rows = await this.prisma.worker.findMany({
      orderBy: [{ stoppedAt: { sort: 'desc', nulls: 'first' } }, { lastHeartbeatAt: 'desc' }],
      take: FLEET_SHOWN,
      include: {
        attempts: {
          where: { outcome: 'RUNNING', ...(project === undefined ? {} : { run: { project } }) },
          select: { runId: true, number: true, startedAt: true },
        },
      },
    });
    const now = Date.now();
    return rows.map(({ attempts, ...worker }) => workerView(worker, workerState(worker, lostAfterMs, now), attempts));
  }

  /** One worker as the fleet shows it, or null. */
  async get(id: string, lostAfterMs: number): Promise<WorkerView | null> {
    const worker = await this.prisma.worker.findUnique({
      where: { id },
      include: { attempts: { where: { outcome: 'RUNNING' }, select: { runId: true, number: true, startedAt: true } } },
    });
    if (!worker) return null;
    const { attempts, ...row } = worker;
    return workerView(row, workerState(row, lostAfterMs), attempts);
  }

  /**
   * Live workers (not stopped, heard from within `lostAfterMs`; draining ones count, as they may
   * be taken back), those of them that consume the run's class and have the memory it asks for on
   * the device it would train on: one GPU's on a worker with GPUs, RAM otherwise (unknown memory
   * counts as enough), and how many of the serving ones are draining or drained.
   */
  async servability(spec: Placement, lostAfterMs: number): Promise<Servability> {
    const since = new Date(Date.now() - lostAfterMs);
    const serves = servesRun(spec);
    const [row] = await this.prisma.$queryRaw<Servability[]>`
      SELECT count(*)::int AS live,
             count(*) FILTER (WHERE ${serves})::int AS serving,
             count(*) FILTER (WHERE ${serves} AND "drain_requested_at" IS NOT NULL)::int AS draining
      FROM "workers" WHERE ${liveWorker('"workers"', since)}`;
    return row ?? { live: 0, serving: 0, draining: 0 };
  }

  /**
   * Whether every live worker (draining and drained included) that consumes `resourceClass` trains
   * on `backend`, and one does: which backend a run lands on is not known at submit, so only then
   * is that backend's limit certain. A worker of no recorded backend counts as another backend.
   */
  async onlyBackendServes(resourceClass: ResourceClass, backend: string, lostAfterMs: number): Promise<boolean> {
    const since = new Date(Date.now() - lostAfterMs);
    const [row] = await this.prisma.$queryRaw<{ serving: number; others: number }[]>`
      SELECT count(*)::int AS serving, count(*) FILTER (WHERE "backend" IS DISTINCT FROM ${backend})::int AS others
      FROM "workers" WHERE ${liveWorker('"workers"', since)} AND ${resourceClass} = ANY("resource_classes")`;
    return !!row && row.serving > 0 && row.others === 0;
  }

  /**
   * Live workers taking jobs (neither draining nor drained), `exceptId` left out, on a known backend
   * other than `backend`, that serve the run as servability counts it: where a worker whose backend
   * cannot hold the run (wasm, past its 4 GiB) gives its job back to. A few, the latest heard first.
   */
  async takersOnOtherBackends(
    spec: Placement,
    backend: string,
    lostAfterMs: number,
    exceptId: string,
  ): Promise<{ id: string; backend: string }[]> {
    const since = new Date(Date.now() - lostAfterMs);
    return this.prisma.$queryRaw<{ id: string; backend: string }[]>`
      SELECT "id", "backend" FROM "workers"
      WHERE ${liveWorker('"workers"', since)} AND ${servesRun(spec)} AND "drain_requested_at" IS NULL
        AND "id" <> ${exceptId} AND "backend" IS NOT NULL AND "backend" <> ${backend}
      ORDER BY "last_heartbeat_at" DESC LIMIT 3`;
  }

  /**
   * The PROJECT_MAX_RUNNING values the live workers apply, each once, smallest first and null (a
   * worker with none) last: one value when the fleet agrees; none without a live worker.
   */
  async liveProjectMaxRunning(lostAfterMs: number): Promise<(number | null)[]> {
    const since = new Date(Date.now() - lostAfterMs);
    const rows = await this.prisma.$queryRaw<{ value: number | null }[]>`
      SELECT DISTINCT "project_max_running" AS value FROM "workers" WHERE ${liveWorker('"workers"', since)}
      ORDER BY 1 NULLS LAST`;
    return rows.map((r) => r.value);
  }

  /**
   * How many workers are in each state (every state present, zeros included), for Prometheus:
   * by workerState itself, so the gauge and the fleet page cannot disagree. Stopped workers are
   * only counted (their rows pile up with every restart); the others are read, a few columns each.
   */
  async countByState(lostAfterMs: number): Promise<Record<WorkerState, number>> {
    const now = Date.now();
    const [stopped, running] = await Promise.all([
      this.prisma.worker.count({ where: { stoppedAt: { not: null } } }),
      this.prisma.worker.findMany({
        where: { stoppedAt: null },
        select: { stoppedAt: true, lastHeartbeatAt: true, drainRequestedAt: true, drainedAt: true },
      }),
    ]);
    const counts = Object.fromEntries(WORKER_STATES.map((state) => [state, 0])) as Record<WorkerState, number>;
    counts.stopped = stopped;
    for (const worker of running) counts[workerState(worker, lostAfterMs, now)] += 1;
    return counts;
  }
}

/**
 * A worker row serves a run: it consumes the run's class and has the memory the run asks for on
 * the device it would train on (one GPU's with GPUs, RAM otherwise; unknown memory counts as enough).
 */
function servesRun(spec: Placement): Prisma.Sql {
  const neededMb = spec.resources?.memoryGb === undefined ? null : Math.ceil(spec.resources.memoryGb * 1024);
  return Prisma.sql`(${resourceClassOf(spec)} = ANY("resource_classes")
      AND (${neededMb}::int IS NULL
        OR COALESCE(CASE WHEN "gpu_count" > 0 THEN "gpu_memory_mb" ELSE "memory_mb" END, ${neededMb}::int)
           >= ${neededMb}::int))`;
}
