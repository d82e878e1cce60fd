import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TrainyardConfig } from '@trainyard/config';
import { isUuid } from '@trainyard/contracts';
import {
  COMPACT_POINTS_PER_PASS,
  COMPACT_RUNS_PER_PASS,
  MetricCompactionRepository,
  PipelinesRepository,
  ReconciliationRepository,
  ROLLUP_BLOCK,
  WorkersRepository,
  type UnfinishedRun,
} from '@trainyard/db';
import { enqueueRun, type TrainingQueues } from '@trainyard/queue';
import { ORPHAN_CHECKPOINT_GRACE_MS, OrphanCheckpointSweeper } from './orphan-checkpoints.sweeper';
import { OrphanUploadSweeper } from './orphan-uploads.sweeper';
import { PipelineAdvancer } from './pipeline.advancer';
import { WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';
import { CONFIG, REDIS, TRAINING_QUEUES } from '@trainyard/infrastructure';

/** Job states in which BullMQ will still hand the job to a worker (or one holds it). */
const LIVE_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active']);

// Deletes the lock only if this worker still holds it (it may have expired and been taken).
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

// Writes walk positions (ARGV[3..]: field, value…) only if this worker still holds the lock: a pass
// that outlived its lock leaves them to the pass that took over.
const SAVE_POSITIONS = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('hset', KEYS[2], unpack(ARGV, 3))
redis.call('pexpire', KEYS[2], ARGV[2])
return 1`;

/**
 * Unfinished runs, and running pipelines, one pass looks at at most: a pass costs the same however
 * many wait, and the walk goes on from there on the next pass, whichever worker makes it.
 */
export const RECONCILE_PAGE_SIZE = 1000;
/** Ended runs one pass gives their last orphan checkpoint sweep at most (each lists the run's folders in the store). */
export const ORPHAN_SWEEP_PAGE_SIZE = 500;
/** Walk positions no pass moved for a day (or ten intervals) are dropped: the walks then start over. */
const positionsTtlMs = (intervalMs: number) => Math.max(24 * 60 * 60_000, 10 * intervalMs);
/** How long a pass holds the reconciler's lock (never renewed): two intervals, 30 s at least. */
const lockTtlMs = (intervalMs: number) => Math.max(30_000, 2 * intervalMs);

/** Where a walk stopped: the last row's creation time and id, which break ties. */
interface Position {
  at: Date;
  id: string;
}

/**
 * The walks' positions in Redis, one hash field each; '' (or no field) is "from the start". Losing
 * them (Redis restarted without persistence) only delays: the walks of unfinished runs and running
 * pipelines start over from the oldest and reach every row again within as many passes. The sweep of
 * ended runs keeps what is left to do in PostgreSQL (`runs.orphans_swept_at`); only its
 * `ended-retry` (the run whose sweep failed once) is here, and losing it costs that run one more try.
 */
type PositionFields = Partial<Record<'runs' | 'pipelines' | 'ended-retry', string>>;

export interface ReconcilePassOptions {
  /** Unfinished runs, and running pipelines, this pass looks at at most (RECONCILE_PAGE_SIZE). */
  pageSize?: number;
  /** Ended runs this pass sweeps at most (ORPHAN_SWEEP_PAGE_SIZE). */
  sweepPageSize?: number;
  /** Ended runs whose metric points this pass compacts at most (COMPACT_RUNS_PER_PASS). */
  compactRuns?: number;
  /** Metric points this pass deletes at most (COMPACT_POINTS_PER_PASS). */
  compactPoints?: number;
}

/** How often the reconciler looks for upload folders no dataset names (OrphanUploadSweeper). */
export const UPLOAD_SWEEP_EVERY_MS = 60 * 60_000;

export interface ReconcileReport {
  ran: boolean;
  requeued: string[];
  failed: string[];
  /** Workers lost for WORKER_LOST_RETIRE_MS this pass recorded as stopped (reason `lost`). */
  retiredWorkers: string[];
  /** Upload folders no dataset names whose images this pass deleted (OrphanUploadSweeper, about hourly). */
  sweptUploads: string[];
  /** Ended runs whose metric points this pass compacted (all of them, `runs`), and the points it deleted. */
  compacted: { runs: string[]; points: number };
  /** How many unfinished runs, running pipelines and ended runs (their last orphan sweep) this pass looked at. */
  looked: { runs: number; pipelines: number; ended: number };
  /** What this pass could not reconcile ("run <id>", "pipeline <id>", "ended run <id>", or a whole step): logged, retried on a later pass. */
  errors: string[];
}

const emptyReport = (): ReconcileReport => ({
  ran: false,
  requeued: [],
  failed: [],
  retiredWorkers: [],
  sweptUploads: [],
  compacted: { runs: [], points: 0 },
  looked: { runs: 0, pipelines: 0, ended: 0 },
  errors: [],
});

/**
 * Makes PostgreSQL (the truth) and the queue agree, at start and every
 * WORKER_RECONCILE_INTERVAL_MS, one worker at a time under a Redis lock: a QUEUED, RUNNING or
 * PREEMPTED run whose job is missing (a Redis restarted without persistence, a lost enqueue),
 * failed or completed is enqueued again, or FAILED with the reason once its attempts are spent.
 * Nothing stays RUNNING forever.
 *
 * A pass reads one page of unfinished runs and one of running pipelines, each after the position
 * the previous pass (of any worker: the positions live in Redis beside the lock) left, and one page
 * of the ended runs not yet given their last orphan sweep (marked in PostgreSQL, so no position), so
 * however many runs wait, every one is looked at within a bounded number of passes, and the fleet's
 * passes together make progress. One run or pipeline that cannot be reconciled
 * (Redis timing out on its job) is logged and counted; the pass goes on with the others.
 *
 * A pass also retires the workers lost for WORKER_LOST_RETIRE_MS (recorded as stopped, reason
 * `lost`), so `trainyard_workers{state="lost"}` counts the workers lost recently, not every one
 * ever killed. One UPDATE whose WHERE holds the rule: passes of other queues' reconcilers (which do
 * not share this lock) retire each worker once.
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger(Reconciler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<ReconcileReport>;
  /** Aborted by stop(): a compaction in flight ends after its current statement. */
  private readonly stopping = new AbortController();

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    private readonly reconciliation: ReconciliationRepository,
    private readonly pipelines: PipelinesRepository,
    private readonly workers: WorkersRepository,
    private readonly advancer: PipelineAdvancer,
    private readonly orphans: OrphanCheckpointSweeper,
    private readonly uploads: OrphanUploadSweeper,
    private readonly compaction: MetricCompactionRepository,
  ) {}

  start(): void {
    const tick = () => {
      this.running ??= this.reconcileOnce()
        .catch((error: Error) => {
          this.logger.warn(`reconciliation failed, will try again: ${error.message}`);
          return emptyReport();
        })
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.config.worker.reconcileIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }

  private get lockKey(): string {
    return `trainyard:reconciler:${this.options.queueName}`;
  }

  /** Where each walk stopped, beside the lock: every worker's pass goes on from the last one's. */
  private get positionsKey(): string {
    return `${this.lockKey}:positions`;
  }

  async reconcileOnce(options: ReconcilePassOptions = {}): Promise<ReconcileReport> {
    const report = emptyReport();
    const interval = this.config.worker.reconcileIntervalMs;
    const acquired = await this.redis.set(this.lockKey, this.options.workerId, 'PX', lockTtlMs(interval), 'NX');
    if (acquired !== 'OK') return report;
    report.ran = true;
    try {
      const now = Date.now();
      const positions = await this.step('reading where the last pass stopped (walk positions)', report, () =>
        this.redis.hgetall(this.positionsKey),
      );
      const pageSize = options.pageSize ?? RECONCILE_PAGE_SIZE;
      await this.step('retiring lost workers', report, () => this.retireLostWorkers(report));
      if (positions) {
        await this.step('the walk of unfinished runs', report, () =>
          this.reconcileRuns(now, positions, pageSize, report),
        );
        // A step that ended while its worker died (or a step cancelled through the API) moves its pipeline on here.
        await this.step('the walk of running pipelines', report, () =>
          this.advancePipelines(positions, pageSize, report),
        );
        await this.step('the walk of ended runs (orphan checkpoint sweep)', report, () =>
          this.sweepEnded(now, positions, options.sweepPageSize ?? ORPHAN_SWEEP_PAGE_SIZE, report),
        );
      }
      await this.step('the sweep of orphan uploads', report, () => this.sweepUploads(report));
      await this.step("the compaction of ended runs' metric points", report, () =>
        this.compactEnded(
          now,
          options.compactRuns ?? COMPACT_RUNS_PER_PASS,
          options.compactPoints ?? COMPACT_POINTS_PER_PASS,
          report,
        ),
      );
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, this.lockKey, this.options.workerId).catch(() => undefined);
    }
    if (report.errors.length) {
      this.logger.warn(
        `reconciled: ${report.requeued.length} runs enqueued again, ${report.failed.length} failed, ` +
          `${report.errors.length} could not be reconciled this pass (see above)`,
      );
    } else if (report.requeued.length || report.failed.length) {
      this.logger.log(`reconciled: ${report.requeued.length} runs enqueued again, ${report.failed.length} failed`);
    }
    return report;
  }

  /**
   * About once every UPLOAD_SWEEP_EVERY_MS across the fleet (a Redis key, so however many workers
   * reconcile): the images of uploads that never became a dataset (OrphanUploadSweeper).
   */
  private async sweepUploads(report: ReconcileReport): Promise<void> {
    const key = `${this.lockKey}:uploads-swept`;
    if ((await this.redis.set(key, this.options.workerId, 'PX', UPLOAD_SWEEP_EVERY_MS, 'NX')) !== 'OK') return;
    report.sweptUploads.push(...(await this.uploads.sweep()));
  }

  private async retireLostWorkers(report: ReconcileReport): Promise<void> {
    const { lostAfterMs, lostRetireMs } = this.config.worker;
    for (const worker of await this.workers.retireLost(lostAfterMs, lostRetireMs)) {
      report.retiredWorkers.push(worker.id);
      this.logger.warn(
        `worker ${worker.id}: lost since its last heartbeat at ${worker.lastHeartbeatAt.toISOString()}; recorded as stopped (reason lost, WORKER_LOST_RETIRE_MS=${lostRetireMs})`,
      );
    }
  }

  /** One step of a pass; its failure is logged and counted, and the pass goes on with the next. */
  private async step<T>(what: string, report: ReconcileReport, body: () => Promise<T>): Promise<T | undefined> {
    try {
      return await body();
    } catch (error) {
      report.errors.push(what);
      this.logger.warn(`reconciler: ${what} failed, a later pass will try again: ${(error as Error).message}`);
      return undefined;
    }
  }

  private async savePositions(fields: PositionFields): Promise<void> {
    const args = Object.entries(fields).flat();
    const saved = await this.redis.eval(
      SAVE_POSITIONS,
      2,
      this.lockKey,
      this.positionsKey,
      this.options.workerId,
      positionsTtlMs(this.config.worker.reconcileIntervalMs),
      ...args,
    );
    // The pass outlived its lock (another worker may be passing over the same pages now): where
    // it got to is not saved, and a pass that keeps doing so never moves on. Said, not silent.
    if (Number(saved) === 0)
      this.logger.warn(
        `reconciler: this pass outlived its lock (${lockTtlMs(this.config.worker.reconcileIntervalMs)} ms); where it got to is not saved, and the next pass starts where the last saved one did`,
      );
  }

  private async reconcileRuns(now: number, positions: PositionFields, limit: number, report: ReconcileReport) {
    // A run submitted or touched a moment ago may not be enqueued yet: give it one interval.
    const runs = await walkPage(decodePosition(positions.runs), (after) =>
      this.reconciliation.listUnfinished(
        new Date(now - Math.min(10_000, this.config.worker.reconcileIntervalMs)),
        new Date(now - this.config.worker.lostAfterMs),
        { after: after && { createdAt: after.at, id: after.id }, limit },
      ),
    );
    for (const run of runs) {
      try {
        await this.reconcileRun(run, report);
      } catch (error) {
        report.errors.push(`run ${run.id}`);
        this.logger.warn(
          `${run.status} run ${run.id}: could not reconcile (${(error as Error).message}); a later pass will look again`,
        );
      }
    }
    report.looked.runs = runs.length;
    const last = runs.at(-1);
    // A short page is the walk's end: the next pass starts over from the oldest.
    await this.savePositions({ runs: last && runs.length === limit ? encodePosition(last.createdAt, last.id) : '' });
  }

  private async advancePipelines(positions: PositionFields, limit: number, report: ReconcileReport) {
    const pipelines = await walkPage(decodePosition(positions.pipelines), (after) =>
      this.pipelines.listRunning({ after: after && { createdAt: after.at, id: after.id }, limit }),
    );
    for (const { id } of pipelines) {
      try {
        // Not patient (about 3 s of retries, then the next pass), unlike the advance after a step
        // (PipelineAdvancer.advanceAfterStep), on purpose: this pass is the backstop, run again every
        // WORKER_RECONCILE_INTERVAL_MS and idempotent; the page read just above is not patient
        // either, so an outage fails the pass there first; and a pass waiting out an outage of up to
        // WORKER_DATABASE_OUTAGE_PATIENCE_MS (2 min) on one pipeline would hold every later step and
        // pipeline behind it and outlive its lock (lockTtlMs: 2 min by default), its walk not saved.
        await this.advancer.advance(id);
      } catch (error) {
        report.errors.push(`pipeline ${id}`);
        this.logger.warn(
          `pipeline ${id}: could not advance (${(error as Error).message}); a later pass will try again`,
        );
      }
    }
    report.looked.pipelines = pipelines.length;
    const last = pipelines.at(-1);
    await this.savePositions({
      pipelines: last && pipelines.length === limit ? encodePosition(last.createdAt, last.id) : '',
    });
  }

  /**
   * A run's last orphan-checkpoint sweep, once uploads still running when it ended have settled:
   * every run that ended a grace period ago and is not marked swept in PostgreSQL, oldest first, a
   * page a pass. The mark, not a position, says what is left, so nothing here is lost with Redis:
   * a pass that outlived its lock, or two queues' reconcilers, may sweep a run twice, which deletes
   * nothing more (the sweep is idempotent). A run whose sweep fails (the store not answering) is
   * tried once more on the next pass, the page stopping before it; failing again, it is marked and
   * given up so it cannot stop the others for good.
   */
  private async sweepEnded(now: number, positions: PositionFields, limit: number, report: ReconcileReport) {
    const ended = await this.reconciliation.awaitingOrphanSweep(new Date(now - ORPHAN_CHECKPOINT_GRACE_MS), limit);
    const done: string[] = [];
    let retry = '';
    for (const run of ended) {
      try {
        await this.orphans.sweep(run.id);
      } catch (error) {
        report.errors.push(`ended run ${run.id}`);
        const message = (error as Error).message;
        if (run.id !== positions['ended-retry']) {
          this.logger.warn(`run ${run.id}: orphan checkpoint sweep failed, the next pass will try again: ${message}`);
          retry = run.id;
          break;
        }
        this.logger.warn(`run ${run.id}: orphan checkpoint sweep failed again, given up: ${message}`);
      }
      done.push(run.id);
      report.looked.ended += 1;
    }
    // Not marked (the database away): the next pass sweeps them again, which deletes nothing more.
    await this.reconciliation.markOrphansSwept(done);
    await this.savePositions({ 'ended-retry': retry });
  }

  /**
   * Compacts the metric points of runs ended METRIC_POINTS_COMPACT_AFTER_MS ago (0: never), oldest
   * first, at most `maxRuns` runs and about `maxPoints` deleted points a pass (a run larger than
   * that is finished by later passes). What is left to do is in PostgreSQL (`metrics_compacted_at`),
   * so nothing is lost with Redis; the reconcilers of other queues, which do not share this lock,
   * skip a run another compacts (MetricCompactionRepository.compactRun tries its lock). A run that
   * fails is logged and left for a later pass; the others go on. Stops between two statements when
   * the worker stops.
   */
  private async compactEnded(now: number, maxRuns: number, maxPoints: number, report: ReconcileReport) {
    const afterMs = this.config.worker.metricCompactAfterMs;
    if (afterMs === 0) return;
    const endedBefore = new Date(now - afterMs);
    for (const run of await this.compaction.awaitingCompaction(endedBefore, maxRuns)) {
      const budget = maxPoints - report.compacted.points;
      if (this.stopping.signal.aborted || budget < ROLLUP_BLOCK) return;
      try {
        const done = await this.compaction.compactRun(run.id, endedBefore, budget, this.stopping.signal);
        report.compacted.points += done.deleted;
        if (done.outcome === 'compacted') report.compacted.runs.push(run.id);
      } catch (error) {
        report.errors.push(`compaction of run ${run.id}`);
        this.logger.warn(
          `run ${run.id}: compacting its metric points failed, a later pass will try again: ${(error as Error).message}`,
        );
      }
    }
  }

  private async reconcileRun(run: UnfinishedRun, report: ReconcileReport): Promise<void> {
    const job = await this.queues.getJob(run.id);
    const state = job ? await job.getState() : 'missing';
    if (LIVE_STATES.has(state)) return;
    // Redis lost the job (restarted without persistence) but its worker is alive and training:
    // it will finish the run in PostgreSQL; a second job would only fence it off and redo work.
    if (state !== 'failed' && run.status === 'RUNNING' && run.ownerAlive) return;

    const why =
      state === 'failed'
        ? `its job failed in the queue (${job?.failedReason ?? 'no reason'})`
        : `its job is ${state} in the queue`;
    // A RUNNING attempt whose worker is gone is a crash not yet counted.
    const failures = run.failures + (run.status === 'RUNNING' && !run.ownerAlive ? 1 : 0);
    const maxAttempts = this.config.worker.maxAttempts;
    if (failures >= maxAttempts) {
      const reason = `${run.status} run ${run.id}: ${why}, and ${failures} of ${maxAttempts} attempts failed (WORKER_MAX_ATTEMPTS)`;
      if (await this.reconciliation.fail(run.id, reason)) {
        this.logger.warn(`FAILED ${reason}`);
        report.failed.push(run.id);
      }
      return;
    }
    // The job id is the run id: a failed or completed job has to go before a new one can be added.
    if (job)
      await job
        .remove()
        .catch((error: Error) =>
          this.logger.warn(`run ${run.id}: could not remove its ${state} job: ${error.message}`),
        );
    await enqueueRun(this.queues, run, maxAttempts);
    await this.reconciliation.touch(run.id);
    this.logger.warn(`${run.status} run ${run.id}: ${why}; enqueued again`);
    report.requeued.push(run.id);
  }
}

/**
 * One page of a walk from `after`. A walk whose last page was full stops after its last row; the
 * next page, empty, starts over at once rather than spending a pass on nothing.
 */
async function walkPage<T>(after: Position | null, read: (after: Position | null) => Promise<T[]>): Promise<T[]> {
  const rows = await read(after);
  return rows.length === 0 && after ? read(null) : rows;
}

function encodePosition(at: Date, id: string): string {
  return `${at.toISOString()} ${id}`;
}

/** Null for none, and for anything this code did not write (the walk then starts over rather than failing every pass). */
function decodePosition(raw: string | undefined): Position | null {
  const [time, id, ...rest] = (raw ?? '').split(' ');
  if (!time || !id || rest.length > 0 || !isUuid(id)) return null;
  const at = new Date(time);
  const year = at.getUTCFullYear();
  if (Number.isNaN(at.getTime()) || year < 1970 || year > 9999 || at.toISOString() !== time) return null;
  return { at, id };
}
