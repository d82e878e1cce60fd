import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { withLogFields, type TrainyardConfig } from '@trainyard/config';
import {
  isTerminal,
  type RunSpec,
  type RunStatus,
  storedOnBaseRun,
  storedPlacementMemoryGb,
  storedTrainingMemory,
  storedTrainingMemoryOnBaseRun,
  type TrainingMemory,
  type TrainingJobData,
} from '@trainyard/contracts';
import {
  AttemptsRepository,
  AttemptWritesRepository,
  CheckpointsRepository,
  databaseUnavailable,
  ProjectAtCapacityError,
  RunStateError,
  RunsRepository,
  type OpenedAttempt,
  type Run,
  WorkersRepository,
} from '@trainyard/db';
import {
  startTrainingProcess,
  type BacklogChange,
  type PrestartedTrainingProcess,
  type TrainingJobInput,
  type TrainingOutcome,
  type TrainingOutputLine,
} from '@trainyard/training/supervisor';
import { ActiveTrainings } from './active-trainings';
import { giveBack } from './class-consumers';
import {
  DatabasePatience,
  PatienceWindow,
  repeatedFailureReports,
  type PatienceLog,
  type RunPatience,
} from './database-patience';
import { JobHandBack } from './job-hand-back';
import { GiveBackLines } from './devices/give-back-lines';
import { PrestartedProcesses } from './devices/prestarted-processes';
import { wasmMemoryPlacement } from './devices/wasm-memory-placement';
import { WorkerDevices, type DeviceLease } from './devices/worker-devices';
import { WorkerMetrics } from './metrics/worker-metrics';
import { firstCheckpointSequence } from './orphan-checkpoints.sweeper';
import { OutcomeConcluder } from './outcome.concluder';
import { PipelineAdvancer } from './pipeline.advancer';
import { ProjectParking } from './project-parking';
import { RunEventsApplier } from './run-events.applier';
import { RunInputsResolver } from './run-inputs.resolver';
import { RunLogs } from './run-logs/run-logs';
import { standInTraining, trainsWithoutProcess } from './stand-in-training';
import { trainingTimeExceeded } from './training-time-limit';
import type { TrainingContext } from './training-context';
import { withUnrecordedCheckpoints } from './unrecorded-checkpoints';
import { CHECKPOINT_STORE, WORKER_OPTIONS, type WorkerOptions } from './worker.tokens';
import { CONFIG } from '@trainyard/infrastructure';
import type { CheckpointStore } from '@trainyard/storage';

const WATCH_POLL_MS = 500;

/** QUOTA_RUN_TRAINING_HOURS for one attempt: what earlier attempts used, and when this one began. */
interface TimeLimit {
  hours: number;
  usedMs: number;
  startedAt: number;
}
/**
 * Runs one training job. The job carries only the run id: everything else is read from
 * PostgreSQL. Training runs in a process of its own, one per attempt (pinned to a GPU when there
 * are some), so this event loop stays free to renew the BullMQ lock, write what the training
 * reports and watch for cancellation and fencing, and a training that crashes costs one attempt.
 */
@Injectable()
export class TrainingProcessor {
  private readonly logger = new Logger(TrainingProcessor.name);
  /** Test-only: bench:dispatch's orchestration with the training process left out. */
  private readonly withoutProcess = trainsWithoutProcess();
  /** A job given back comes round every WORKER_WAIT_ELSEWHERE_MS: its line is logged once, not every time. */
  private readonly givenBack = new GiveBackLines();

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    private readonly runs: RunsRepository,
    private readonly attempts: AttemptsRepository,
    private readonly writes: AttemptWritesRepository,
    private readonly checkpoints: CheckpointsRepository,
    private readonly applier: RunEventsApplier,
    private readonly concluder: OutcomeConcluder,
    private readonly active: ActiveTrainings,
    private readonly inputs: RunInputsResolver,
    private readonly pipelines: PipelineAdvancer,
    private readonly metrics: WorkerMetrics,
    private readonly runLogs: RunLogs,
    private readonly devices: WorkerDevices,
    private readonly prestarted: PrestartedProcesses,
    private readonly patience: DatabasePatience,
    private readonly parking: ProjectParking,
    private readonly workers: WorkersRepository,
    @Inject(CHECKPOINT_STORE) private readonly store: CheckpointStore,
  ) {}

  /** Before an attempt opens, a job's lines go to the worker's log (naming its run and job: withLogFields). */
  private readonly workerLog: PatienceLog = {
    warn: (message) => this.logger.warn(message),
    log: (message) => this.logger.log(message),
  };

  async process(job: Job<TrainingJobData>, token?: string): Promise<{ status: string }> {
    // Every line about this job names its run and job, those before an attempt opens (given back,
    // waiting on its project's limit, already ended) and the pipeline's after it; the attempt's
    // lines add its number.
    return withLogFields({ runId: job.data.runId, jobId: String(job.id) }, async () => {
      try {
        return await this.processJob(job, token);
      } catch (error) {
        // Everything the attempt held is let go: only now may the job leave this slot (JobHandBack).
        if (error instanceof JobHandBack) return error.handBack(job, token);
        throw error;
      }
    });
  }

  private async processJob(job: Job<TrainingJobData>, token?: string): Promise<{ status: string }> {
    const { runId } = job.data;
    // The job's calls before its attempt opens; their lines go to the worker's log.
    const patient = this.patience.forRun(runId, this.workerLog);
    // A job taken while PostgreSQL is down waits for it here, holding its lock, rather than
    // failing in BullMQ: that failure would count as one of the run's WORKER_MAX_ATTEMPTS there.
    const run = await patient('reading the run', () => this.runs.get(runId));
    if (!run) throw new UnrecoverableError(`run ${runId} does not exist in the database`);
    if (!run.pipelineId) return this.processRun(job, run, patient, token);
    try {
      return await this.processRun(job, run, patient, token);
    } finally {
      // Whatever the step's outcome (a retry leaves the run unfinished, and then nothing moves).
      await this.pipelines.advanceAfterStep(run.pipelineId, runId);
    }
  }

  /**
   * A fine-tune on a base run (a pipeline's released step too) has no estimate of its own spec: its
   * model is the base's encoder and a head, sized by the base run's stored spec, as the API sized it
   * at submit. One more read, for such jobs only; its row's baseRunId is the resolved base (a
   * registered version's run too).
   */
  private async memoryOnBaseRun(run: Run, patient: RunPatience): Promise<TrainingMemory | null> {
    const baseRunId = run.baseRunId;
    if (!baseRunId || !storedOnBaseRun(run.spec)) return null;
    const base = await patient('reading its base run', () => this.runs.get(baseRunId));
    return storedTrainingMemoryOnBaseRun(run.spec, base?.spec);
  }

  private async processRun(
    job: Job<TrainingJobData>,
    run: Run,
    patient: RunPatience,
    token?: string,
  ): Promise<{ status: string }> {
    const runId = run.id;
    if (isTerminal(run.status as RunStatus)) {
      this.logger.warn(`run ${runId} is already ${run.status}; nothing to do`);
      return { status: run.status };
    }
    if (run.cancelRequested) {
      // Its worker was lost before it stopped for the cancel: this one ends the run and its attempt.
      await patient('ending it CANCELLED', () => this.runs.finishCancelled(runId));
      await this.parking.releaseBeforeNextJob(run.project);
      return { status: 'CANCELLED' };
    }

    const memory = storedTrainingMemory(run.spec) ?? (await this.memoryOnBaseRun(run, patient));
    const memoryGb = storedPlacementMemoryGb(run.spec, memory);
    if (!this.devices.fits(memoryGb)) {
      const line = `run ${runId} needs ${memoryGb!.toFixed(2)} GB on its device (the larger of resources.memoryGb and its estimate), more than this worker has; given back`;
      if (this.givenBack.news(runId, line)) this.logger.log(line);
      throw new JobHandBack(
        (held, heldToken) => giveBack(held, heldToken, this.config.worker.waitElsewhereMs),
        'memory',
      );
    }
    const wasm = await wasmMemoryPlacement(runId, run.spec, memory, memoryGb, this.devices.backend, (placement) =>
      patient('looking for a worker of another backend', () =>
        this.workers.takersOnOtherBackends(placement, 'wasm', this.config.worker.lostAfterMs, this.options.workerId),
      ),
    );
    if (wasm?.giveBack) {
      if (this.givenBack.news(runId, wasm.line)) this.logger.log(wasm.line);
      throw new JobHandBack(
        (held, heldToken) => giveBack(held, heldToken, this.config.worker.waitElsewhereMs),
        'wasm memory',
      );
    }
    this.givenBack.forget(runId);

    let opened: OpenedAttempt;
    try {
      opened = await patient('opening an attempt', () =>
        this.attempts.openCurrent(runId, this.options.workerId, {
          runningPerProject: this.config.limits.runningRunsPerProject,
        }),
      );
    } catch (error) {
      // Cancelled (or failed by the reconciler) between the read above and now.
      if (error instanceof RunStateError) return { status: error.status };
      if (error instanceof ProjectAtCapacityError) return this.parking.park(run, error);
      throw error;
    }
    this.metrics.trainingStarted(job, opened.attempt.number);
    const fields = { runId, attempt: opened.attempt.number, jobId: String(job.id) };
    const log = this.runLogs.open(fields);
    if (wasm) log.warn(this.logger, wasm.line);
    for (const crashed of opened.crashed) {
      log.warn(
        this.logger,
        `run ${runId}: attempt ${crashed.number} (worker ${crashed.workerId}) was left RUNNING; closed as CRASHED`,
      );
    }
    const context: TrainingContext = {
      job,
      token,
      fence: { runId, attemptId: opened.attempt.id },
      fenced: false,
      preemptRequested: false,
      retention: Promise.resolve(),
      log,
    };
    this.active.add(context);
    try {
      // Every line logged on this attempt's behalf, here or in what it calls, names it.
      return await withLogFields(fields, () => this.train(context, run, opened));
    } finally {
      this.active.delete(context);
      // The slot is free: a process waits, loaded, for the next job.
      this.prestarted.refill();
      await context.retention;
      // Whatever the outcome (preempted, failed, fenced): the tail of the log is written.
      await log.close();
      await this.parking.releaseBeforeNextJob(run.project);
    }
  }

  private async train(context: TrainingContext, run: Run, opened: OpenedAttempt): Promise<{ status: string }> {
    const { runId } = context.fence;
    const spec = run.spec as unknown as RunSpec;
    const maxAttempts = this.config.worker.maxAttempts;
    // The attempt is open: a read that gave up now would leave it RUNNING, to be closed CRASHED.
    // Each read has a patience window of its own; a failure it decides is recorded within what is
    // left of it (the outcome's window), so the read and the failure's calls wait one window in all.
    let lastRead: PatienceWindow | undefined;
    const read: RunPatience = (what, fn, retryOn) =>
      this.patience.forRun(runId, context.log.from(this.logger), (lastRead = new PatienceWindow()))(what, fn, retryOn);
    const fail = (reason: string) => {
      context.outcomeWindow = lastRead;
      return this.concluder.fail(context, reason);
    };
    if (opened.failures >= maxAttempts) {
      const last = (await read('listing its attempts', () => this.attempts.listByRun(runId)))
        .filter((a) => a.outcome === 'CRASHED' || a.outcome === 'FAILED')
        .pop();
      return fail(
        `gave up after ${opened.failures} failed attempts (WORKER_MAX_ATTEMPTS=${maxAttempts}); the last, attempt ${last?.number}, ${last?.outcome}: ${last?.error ?? 'no reason recorded'}`,
      );
    }

    // QUOTA_RUN_TRAINING_HOURS counts every attempt's training: a run that used it up stops here.
    const limitHours = this.config.limits.trainingHoursPerRun;
    const usedMs =
      opened.attempt.number > 1
        ? await read('reading its training time', () => this.attempts.trainingTimeUsedMs(runId, opened.attempt.id))
        : 0;
    if (usedMs >= limitHours * 3_600_000) return fail(trainingTimeExceeded(limitHours, usedMs, false));
    const timeLimit: TimeLimit = { hours: limitHours, usedMs, startedAt: Date.now() };

    // Base or evaluated checkpoint, registered dataset location: see run-inputs.resolver.ts.
    // It also reads the object store (a packed dataset's manifest): only the database's own lost
    // connections are waited for, not the store's refused ones.
    const resolved = await read(
      'resolving its inputs',
      () => this.inputs.resolve(run, spec),
      (error) => databaseUnavailable(error) === 'unreachable',
    );
    if (!resolved.ok) return fail(resolved.reason);

    const recorded = await read('finding its resume point', () => this.checkpoints.resumePoint(runId));
    const recordedOnly = { candidates: recorded.candidates, lastSequence: recorded.nextSequence - 1, unrecorded: [] };
    // A first attempt, nearly every one, lists nothing: folders PostgreSQL does not record come from
    // an attempt it lost (a restore from a backup taken while the run trained, an attempt lost before
    // recording one), so a later attempt. A store that does not answer the listing costs only the
    // unrecorded folders: the recorded checkpoints are read (and an outage met) by the training
    // process, as before.
    const plan =
      opened.attempt.number <= 1
        ? recordedOnly
        : await withUnrecordedCheckpoints(this.store, runId, recorded).catch((error: Error) => {
            context.log.warn(
              this.logger,
              `run ${runId}: its checkpoint folders could not be listed in the store (${error.message}); resuming from the recorded ones only`,
            );
            return recordedOnly;
          });
    if (plan.unrecorded.length)
      context.log.warn(
        this.logger,
        `run ${runId}: checkpoint folder(s) ${plan.unrecorded.join(', ')} in the store have no record in PostgreSQL (restored from an older backup, or an attempt lost before recording them); tried first, each verified against its manifest`,
      );
    const resumeCandidates = plan.candidates;
    const firstSequence = firstCheckpointSequence(opened.attempt.number, plan.lastSequence);
    context.log.log(
      this.logger,
      `run ${runId} (${spec.kind} "${run.name}") attempt ${opened.attempt.number} started on worker ${this.options.workerId}` +
        (resumeCandidates.length ? `, may resume from checkpoint ${resumeCandidates[0]!.sequence}` : ''),
    );

    const input: TrainingJobInput = {
      runId,
      spec,
      storage: this.config.storage,
      backend: this.devices.backend,
      ...resolved.inputs,
      firstCheckpointSequence: firstSequence,
      resumeCandidates,
    };
    // A process started ahead (WORKER_PRESTART), with the GPU it is pinned to; else a new one.
    const prestarted = this.prestarted.take();
    const device = prestarted?.lease ?? this.devices.lease();
    let outcome: TrainingOutcome;
    try {
      outcome = await this.trainOn(device, context, input, opened.attempt.number, timeLimit, prestarted?.process);
    } finally {
      device.release();
    }
    // The retention its last checkpoints started is settled before the run is seen to end, so
    // whoever reads a finished run's checkpoints reads the kept ones (it never fails: see apply).
    // Its waits for the database count in the outcome's one patience window.
    context.outcomeWindow ??= new PatienceWindow();
    await context.retention;
    return this.concluder.conclude(context, outcome);
  }

  /** A training held back by its event backlog (the database writes are slower than it): said in the run's log and counted. */
  private backlogChanged(context: TrainingContext, change: BacklogChange): void {
    const { runId } = context.job.data;
    if (change.paused) {
      this.metrics.trainingPauses.inc();
      context.log.warn(
        this.logger,
        `run ${runId} training paused: ${change.waiting} events and metric points wait for their writes to the database (it goes on once ${change.limits.resumeAt} or fewer wait)`,
      );
    } else {
      this.metrics.trainingPausedSeconds.inc(change.pausedMs / 1000);
      context.log.log(this.logger, `run ${runId} training goes on after ${change.pausedMs} ms paused for its writes`);
    }
  }

  /** Runs the attempt's training process on `device`, watching the run for cancellation and fencing until it ends. */
  private async trainOn(
    device: DeviceLease,
    context: TrainingContext,
    input: TrainingJobInput,
    attempt: number,
    timeLimit: TimeLimit,
    prestarted?: PrestartedTrainingProcess,
  ): Promise<TrainingOutcome> {
    const { runId } = input;
    // The process's messages are handled in the context it was started in, which for a process
    // started ahead is the attempt before this one's: each event is handled as this attempt's.
    const fields = { runId, attempt, jobId: String(context.job.id) };
    const onEvent = this.metrics.instrument(runId, (event) =>
      withLogFields(fields, () => this.applier.apply(context, event)),
    );
    const onOutput = (line: TrainingOutputLine) => context.log.output(line);
    const onBacklog = (change: BacklogChange) => this.backlogChanged(context, change);
    const handle = this.withoutProcess
      ? standInTraining()
      : prestarted
        ? prestarted.train(input, onEvent, { onOutput, onBacklog })
        : startTrainingProcess(input, onEvent, {
            onOutput,
            onBacklog,
            env: device.env,
            heartbeatTimeoutMs: this.config.worker.childHeartbeatTimeoutMs,
          });
    context.log.log(
      this.logger,
      `run ${runId} attempt ${attempt} trains in process ${handle.pid ?? '(not started)'}${device.label}${prestarted ? ' (prestarted)' : ''}`,
    );
    context.handle = handle;
    this.active.started(context);

    const deadline = timeLimit.startedAt + timeLimit.hours * 3_600_000 - timeLimit.usedMs;
    let overTime: string | undefined;
    const checks = repeatedFailureReports(`cancel check for run ${runId}`, context.log.from(this.logger));
    const watch = setInterval(() => {
      const now = Date.now();
      if (overTime === undefined && now >= deadline) {
        // Stopped as a preemption is (at the next batch, its position checkpointed), then failed.
        overTime = trainingTimeExceeded(timeLimit.hours, timeLimit.usedMs + now - timeLimit.startedAt, true);
        context.log.warn(this.logger, `run ${runId}: ${overTime}`);
        handle.preempt();
      }
      this.writes
        .watch(context.fence)
        .then((state) => {
          checks.answered();
          if (state.fenced)
            this.applier.fence(context, `attempt ${context.fence.attemptId} is no longer the run's current attempt`);
          else if (state.cancelRequested) handle.cancel();
        })
        .catch((err: unknown) => checks.failed(err));
    }, WATCH_POLL_MS);
    try {
      const outcome = await handle.done;
      // Not requeued: the run fails for good, its checkpoints kept.
      if (overTime !== undefined && outcome.status === 'preempted')
        return { status: 'failed', reason: overTime, retryable: false };
      return outcome;
    } finally {
      clearInterval(watch);
    }
  }
}
