import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  UnprocessableEntityException,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import {
  isWaiting,
  resourceClassOf,
  runKindOf,
  type Placement,
  type RunCheckpoints,
  type RunCreated,
  type RunDetailView,
  type RunKind,
  type RunQueueView,
  type RunSpec,
  type RunStatus,
  type RunView,
} from '@trainyard/contracts';
import {
  CheckpointsRepository,
  IdempotencyKeysRepository,
  PipelinesRepository,
  RunsRepository,
  WorkersRepository,
  type IdempotentRun,
  type Run,
} from '@trainyard/db';
import {
  advancePipeline,
  enqueueRun,
  enqueueRuns,
  isRedisFull,
  REDIS_FULL_MEANING,
  type EnqueuedRun,
  type PipelineQueueOptions,
  type TrainingQueues,
} from '@trainyard/queue';
import { fromRedis, withDeadline } from '../common/with-deadline';
import { requestHash } from './request-hash';
import { RunReferencesService } from './run-references.service';
import { PlacementCheck } from './placement-check';
import { SubmissionQuota } from './submission-quota';
import { ProjectLimitsService } from '../projects/project-limits.service';
import { notFound } from '../http/problems';
import { CONFIG, TRAINING_QUEUES } from '@trainyard/infrastructure';

@Injectable()
export class RunsService implements OnModuleDestroy {
  private readonly logger = new Logger(RunsService.name);
  /** The delete of expired Idempotency-Keys under way, if any (see forgetExpiredKeys). */
  private forgetting?: Promise<void>;
  /**
   * How the API carries out a pipeline decision on the queue (advancePipeline, applyPipelineDecision):
   * released runs through `enqueueMany` (FAILED and a 503 when Redis does not answer), removals
   * that fail logged.
   */
  readonly pipelineQueue: PipelineQueueOptions = {
    enqueue: (runs) => this.enqueueMany(runs),
    onRemoveFailed: (runId, err) => this.jobKept(runId, err),
  };

  constructor(
    private readonly runs: RunsRepository,
    private readonly checkpoints: CheckpointsRepository,
    private readonly idempotencyKeys: IdempotencyKeysRepository,
    @Inject(TRAINING_QUEUES) private readonly queues: TrainingQueues,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly references: RunReferencesService,
    private readonly pipelines: PipelinesRepository,
    private readonly quota: SubmissionQuota,
    private readonly placement: PlacementCheck,
    private readonly workers: WorkersRepository,
    private readonly projectLimits: ProjectLimitsService,
  ) {}

  /**
   * Writes the run first and enqueues second: PostgreSQL is the truth, so a run whose job could
   * not be queued is marked FAILED with the reason rather than left QUEUED forever. A fine-tune
   * pins the base checkpoint it will start from (an evaluation, the one it evaluates), so
   * retention never deletes it; see RunReferencesService.
   * With an Idempotency-Key, the run is created at most once per key and every request with the
   * key and the same body gets the first response, `replayed`; another body with the key is a 422.
   */
  async submit(
    submitted: RunSpec,
    project: string,
    idempotencyKey?: string,
  ): Promise<{ created: RunCreated; replayed: boolean }> {
    const hash = requestHash(submitted);
    // Keys are per project, as Stripe's are per account: two projects never share one.
    const scopedKey = idempotencyKey === undefined ? undefined : `${project}/${idempotencyKey}`;
    // A replay is answered before the quota and reference checks: its run already counts against
    // the quota (a retried request must not be refused by its own run), and what it referred to
    // may have changed since.
    const earlier = scopedKey === undefined ? null : await this.idempotencyKeys.find<RunCreated>(scopedKey);
    if (earlier) return { created: await this.replay(earlier, hash, idempotencyKey!), replayed: true };

    this.quota.checkModelSize([{ spec: submitted, prefix: '' }]);
    const { spec, baseRunId, baseCheckpointId, baseSpec, folderImages } = await this.references.resolve(
      submitted,
      project,
    );
    this.quota.checkImages([{ spec, folderImages }]);
    await this.placement.check(spec, '', { baseSpec });
    const kind: RunKind = runKindOf(spec.kind);
    const creation = { kind, name: spec.name, spec, baseRunId, baseCheckpointId, project };
    // Checked where the run is inserted, under the project's lock: submits arriving together never pass it together.
    const projectLimits = this.quota.projectLimits(project, [{ spec }]);

    if (scopedKey === undefined) {
      const id = randomUUID();
      const run = await this.runs.create({ id, ...creation }, projectLimits);
      await this.enqueue({ id, kind, spec });
      this.logger.log(`Run ${id} (${kind}, "${spec.name}") queued`);
      return { created: { id, status: run.status as RunStatus }, replayed: false };
    }

    const outcome = await this.idempotencyKeys.createRunOnce(
      scopedKey,
      hash,
      creation,
      (id) => ({ id, status: 'QUEUED' as RunStatus }),
      projectLimits,
    );
    // Another request with the key won the race between our lookup and our insert.
    if (!outcome.created) return { created: await this.replay(outcome, hash, idempotencyKey!), replayed: true };
    await this.enqueue({ id: outcome.runId, kind, spec });
    this.logger.log(`Run ${outcome.runId} (${kind}, "${spec.name}") queued under Idempotency-Key "${idempotencyKey}"`);
    this.forgetExpiredKeys();
    return { created: outcome.response, replayed: false };
  }

  /**
   * Each keyed submit adds a key, so each starts a delete of a few past IDEMPOTENCY_KEY_RETENTION_MS:
   * the keys hold that long a window of submits, not every run ever submitted. The submit does not
   * wait for it (its run is created and queued, its answer ready), and one runs at a time in this
   * process: a burst of submits starts one delete, not one each. A failure is logged, never answered.
   */
  private forgetExpiredKeys(): void {
    if (this.forgetting) return;
    const createdBefore = new Date(Date.now() - this.config.api.idempotencyKeyRetentionMs);
    this.forgetting = this.idempotencyKeys
      .forgetCreatedBefore(createdBefore)
      .then(
        () => undefined,
        (err: unknown) =>
          this.logger.warn(`deleting Idempotency-Keys created before ${createdBefore.toISOString()} failed: ${err}`),
      )
      .finally(() => (this.forgetting = undefined));
  }

  /** The delete under way ends before the database's pool closes (libs/infrastructure's shutdown). */
  async onModuleDestroy(): Promise<void> {
    await this.forgetting;
  }

  /** The first answer for a key again (or 422 when the body differs), making sure its job exists. */
  private async replay(earlier: IdempotentRun<RunCreated>, hash: string, idempotencyKey: string): Promise<RunCreated> {
    if (earlier.requestHash !== hash) {
      throw new UnprocessableEntityException({
        message: 'The Idempotency-Key was already used with a different request body',
        errors: [
          {
            field: 'Idempotency-Key',
            message: `Key "${idempotencyKey}" created run ${earlier.runId} from another body; use a new key`,
          },
        ],
      });
    }
    // The first request may have died between its commit and its enqueue: adding the job again
    // is a no-op when it exists (job id = run id), and the reconciler covers the rest.
    const run = await this.runs.get(earlier.runId);
    // The first request answered 503 (its run could not be queued and is FAILED): so does a replay.
    if (run?.status === 'FAILED' && run.failureReason?.startsWith(ENQUEUE_FAILURE)) {
      throw enqueueFailed(run.id, run.failureReason);
    }
    if (run?.status === 'QUEUED') {
      // Under the same deadline as a first submit. Failing here changes nothing: the run was
      // accepted, and if its job is really missing the reconciler adds it once Redis answers.
      const reason = await this.enqueueFailure(
        enqueueRun(
          this.queues,
          { id: run.id, kind: run.kind as RunKind, spec: run.spec as Placement },
          this.config.worker.maxAttempts,
        ),
      );
      if (reason !== null) this.logger.warn(`Run ${run.id}: replayed; its job could not be added again: ${reason}`);
    }
    return earlier.response;
  }

  /** Enqueues a recorded run; on failure marks it FAILED with the reason and answers 503. */
  async enqueue(run: EnqueuedRun): Promise<void> {
    const reason = await this.enqueueFailure(enqueueRun(this.queues, run, this.config.worker.maxAttempts));
    if (reason === null) return;
    await this.failEnqueued([run], reason, `Run ${run.id}`);
    throw enqueueFailed(run.id, reason);
  }

  /**
   * Enqueues recorded runs together (`enqueueRuns`: a few round trips, not one per run) under the
   * same deadline as `enqueue`, and fails them together: every run of the batch still QUEUED is
   * marked FAILED with the reason in one statement, and the 503 says how many could not be queued
   * (and of which sweep). None is left QUEUED without a job for the reconciler to find later.
   */
  async enqueueMany(runs: readonly EnqueuedRun[], of: { sweepId?: string } = {}): Promise<void> {
    if (runs.length === 0) return;
    const reason = await this.enqueueFailure(enqueueRuns(this.queues, runs, this.config.worker.maxAttempts));
    if (reason === null) return;
    const what = `${runs.length} runs${of.sweepId ? ` of sweep ${of.sweepId}` : ''}`;
    const failed = await this.failEnqueued(runs, reason, what);
    throw enqueueManyFailed(failed, runs.length, reason, of.sweepId);
  }

  /** The failureReason when the jobs were not added within the Redis deadline; null when they were. */
  private async enqueueFailure(adding: Promise<void>): Promise<string | null> {
    const deadlineMs = this.config.redis.connectTimeoutMs;
    try {
      await withDeadline(adding, deadlineMs, `Redis did not answer within ${deadlineMs} ms`);
      return null;
    } catch (err) {
      return `${ENQUEUE_FAILURE}${(err as Error).message}`;
    }
  }

  /**
   * Marks the runs whose jobs could not be added FAILED with the reason, in one statement, and
   * returns how many were. Only QUEUED ones: a job that lands after the deadline may already be
   * held by a worker, and a worker skips runs that are already terminal, so it does no harm.
   */
  private async failEnqueued(runs: readonly EnqueuedRun[], reason: string, who: string): Promise<number> {
    this.logger.error(`${who}: ${reason}`);
    const ids = runs.map((run) => run.id);
    return this.runs.failQueued(ids, reason).catch((finishErr: Error) => {
      // Still not queued, as far as this request knows; the reconciler enqueues them later.
      this.logger.error(`${who}: could not mark FAILED either: ${finishErr.message}`);
      return ids.length;
    });
  }

  async detail(id: string): Promise<RunDetailView> {
    const run = await this.runs.getDetail(id);
    if (!run) throw notFound('run', id);
    return run;
  }

  /**
   * Where the run's job stands in its class's queue, how many live workers could take it (and how
   * many of those are draining or drained, so take nothing now) and,
   * under its project's limit (its own, else the fleet's PROJECT_MAX_RUNNING), how many of the
   * project's runs train now: read from Redis (under its deadline: a 503 naming Redis when it does
   * not answer) and PostgreSQL.
   */
  async queuePosition(id: string): Promise<RunQueueView> {
    const run = await this.mustExist(id);
    const spec = run.spec as Placement;
    const [position, { serving, draining }, limits] = await Promise.all([
      fromRedis(
        this.queues.positionOf({ id, spec, project: run.project }),
        this.config.redis.connectTimeoutMs,
        `Run ${id}'s place in its queue is unknown`,
      ),
      this.workers.servability(spec, this.config.worker.lostAfterMs),
      this.projectLimits.get(run.project),
    ]);
    const limit = limits.effectiveMaxRunning;
    return {
      runId: id,
      status: run.status as RunStatus,
      resourceClass: resourceClassOf(spec),
      ...position,
      servingWorkers: serving,
      drainingWorkers: draining,
      projectLimit:
        limit === null
          ? null
          : {
              project: run.project,
              running: limits.running,
              limit,
              source: limits.maxRunning === null ? 'default' : 'project',
            },
    };
  }

  async checkpointList(id: string): Promise<RunCheckpoints> {
    await this.mustExist(id);
    return { runId: id, checkpoints: await this.checkpoints.listByRun(id) };
  }

  /**
   * A waiting run is cancelled at once and its job removed from the queue; a running one gets
   * `cancelRequested` and its worker stops between batches. A pipeline step cancelled at once
   * ends its pipeline now (CANCELLED, naming the step) rather than at the reconciler's next pass;
   * a running step's worker ends it when the step stops.
   */
  async cancel(id: string): Promise<RunView> {
    const before = await this.mustExist(id);
    const after = await this.runs.requestCancel(id);
    if (!after) throw notFound('run', id);
    if (isWaiting(before.status as RunStatus) && after.status === 'CANCELLED') {
      await this.removeJob(id);
      if (after.pipelineId) await this.endPipeline(after.pipelineId, id);
    }
    return after;
  }

  /**
   * Cancels every run of a sweep that has not ended, in one statement (waiting ones now, their
   * jobs removed; running ones between batches), and says how many of each.
   */
  async cancelSweepRuns(sweepId: string): Promise<{ cancelled: number; stopping: number }> {
    const { cancelled, stopping } = await this.runs.requestCancelOfSweep(sweepId);
    await Promise.all(cancelled.map((id) => this.removeJob(id)));
    return { cancelled: cancelled.length, stopping: stopping.length };
  }

  private async endPipeline(pipelineId: string, stepId: string): Promise<void> {
    try {
      // A cancelled step decides the pipeline before any release, so `enqueue` is only for safety.
      await advancePipeline(this.pipelines, pipelineId, this.queues, this.pipelineQueue);
    } catch (err) {
      // The step is cancelled either way; the reconciler ends the pipeline on its next pass.
      this.logger.warn(
        `Run ${stepId} cancelled, but its pipeline ${pipelineId} could not be ended now: ${(err as Error).message}`,
      );
    }
  }

  private async removeJob(id: string): Promise<void> {
    // remove() refuses a job a worker holds (it raced us); that worker sees CANCELLED and stops.
    await this.queues.remove(id).catch((err: Error) => this.jobKept(id, err));
  }

  private jobKept(runId: string, err: Error): void {
    this.logger.warn(`Run ${runId} cancelled, but its job could not be removed: ${err.message}`);
  }

  private async mustExist(id: string): Promise<Run> {
    const run = await this.runs.get(id);
    if (!run) throw notFound('run', id);
    return run;
  }
}

const ENQUEUE_FAILURE = 'Could not enqueue the run: ';

/**
 * Why runs refused by Redis were not queued, and when to submit them again: a full Redis answers,
 * so "once it is back" would mislead whoever reads it.
 */
function queueTrouble(reason: string): { because: string; when: string } {
  return isRedisFull(reason)
    ? { because: ` because ${REDIS_FULL_MEANING}`, when: 'once Redis has room' }
    : { because: '', when: 'once Redis is back' };
}

function enqueueFailed(id: string, reason: string): ServiceUnavailableException {
  const { because, when } = queueTrouble(reason);
  return new ServiceUnavailableException({
    message: `Run ${id} was recorded but could not be queued${because}, so it was marked FAILED; submit it again ${when}`,
    runId: id,
    reason,
  });
}

function enqueueManyFailed(
  failed: number,
  runs: number,
  reason: string,
  sweepId: string | undefined,
): ServiceUnavailableException {
  const { because, when } = queueTrouble(reason);
  return new ServiceUnavailableException({
    message: `${failed} of the ${runs} runs${sweepId ? ` of sweep ${sweepId}` : ''} were recorded but could not be queued${because}, so they were marked FAILED; submit them again ${when}`,
    ...(sweepId && { sweepId }),
    failedRuns: failed,
    runs,
    reason,
  });
}
