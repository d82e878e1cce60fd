import { CHILD_HEARTBEAT_TIMEOUT_DEFAULT_MS } from '@trainyard/config';
import { CONTROL_BYTES, type ChildMessage } from './child-messages';
import { compiledEntry } from './compiled-entry';
import { PRESTART_BACKEND_ENV } from './prestart';
import { describeCrash, superviseChild } from './supervise-child';
import type { TrainingEvent, TrainingJobInput, TrainingOutcome } from './training-job.types';
import type { TrainingOutputLine } from './training-output';

export interface TrainingProcessHandle {
  /** The training process's id (null if it could not be started). */
  pid: number | null;
  /** Settles after the process has exited and every onEvent call has settled; never rejects. */
  done: Promise<TrainingOutcome>;
  /** Asks the training to stop between two batches; it then ends 'cancelled'. */
  cancel(): void;
  /**
   * Asks the training to finish the current batch, checkpoint that position (unless nothing was
   * trained since the last checkpoint) and end 'preempted'. During loading or validation it stops
   * at the next such point; a cancel() takes precedence.
   */
  preempt(): void;
}

export interface TrainingProcessOptions {
  /**
   * Each line the training prints on stdout or stderr, in order. Without it the lines go to this
   * process's own stdout and stderr, as they would if the training printed there itself.
   */
  onOutput?: (line: TrainingOutputLine) => void;
  /** Added to this process's environment for the training (CUDA_VISIBLE_DEVICES, TF_FORCE_GPU_ALLOW_GROWTH…). */
  env?: Record<string, string>;
  /** The process is killed (SIGKILL) after this long without a heartbeat or an event; WORKER_CHILD_HEARTBEAT_TIMEOUT_MS. */
  heartbeatTimeoutMs?: number;
  /** EVENT_BACKLOG unless given (tests make it small). */
  eventBacklog?: EventBacklogLimits;
  /**
   * Told each time the training is paused for its event backlog (`paused`, with the items then
   * waiting) and let go again (`paused: false`, with how long it waited): what the worker logs and
   * counts, so that a training held back by slow writes is seen as such, not as a slow GPU.
   */
  onBacklog?: (change: BacklogChange) => void;
}

/** A training paused for its event backlog, or let go again (see EventBacklogLimits). */
export type BacklogChange =
  { paused: true; waiting: number; limits: EventBacklogLimits } | { paused: false; waiting: number; pausedMs: number };

/**
 * How far a training's events may get ahead of their handling (`onEvent`: the database writes),
 * counted in items: one per event, plus one per metric point, class name and skipped file it
 * carries (what makes an event large). Past `pauseAt` the training is asked to wait between two
 * batches (a pause byte on the control pipe, as cancel and preempt) until the backlog is down to
 * `resumeAt`: a training faster than its writes (a slow or stalled database, tiny epochs on a fast
 * GPU) trains at their pace rather than grow the worker's memory. Past `failAt` — a training that
 * does not wait, such as one whose code floods events within a batch — it is killed and the attempt
 * fails, retryably (the cause may be a database slow for a while; a flood that repeats ends the run
 * FAILED after WORKER_MAX_ATTEMPTS, as any repeated failure).
 */
export interface EventBacklogLimits {
  pauseAt: number;
  resumeAt: number;
  failAt: number;
}
export const EVENT_BACKLOG: EventBacklogLimits = { pauseAt: 1000, resumeAt: 250, failAt: 20_000 };

/**
 * Trains one attempt in a process of its own (training.child.ts), for every backend: this
 * process never loads TensorFlow.js, a native crash or an out-of-memory kill costs the attempt and
 * not the worker, a hung training is killed after `heartbeatTimeoutMs`, and the GPU memory
 * TensorFlow holds goes back to the driver when the process exits. Events reach `onEvent` in
 * order, one at a time, each checked first (ChildMessageSchema); if `onEvent` fails, training is
 * cancelled and the outcome is a retryable failure naming the event. A message that fails the check
 * gets the process killed and the attempt failed without retry, naming what was wrong; a backlog of
 * events past EVENT_BACKLOG's limits pauses the training, then kills it. An exit without an outcome
 * is a retryable failure with `crash` set.
 */
export function startTrainingProcess(
  input: TrainingJobInput,
  onEvent: (event: TrainingEvent) => void | Promise<void>,
  options: TrainingProcessOptions = {},
): TrainingProcessHandle {
  return startTrainingProcessFromEntry('training.child', input, onEvent, options);
}

/**
 * startTrainingProcess with another of this library's compiled entries in place of training.child:
 * tests give a scripted process (testing/scripted-training.child.ts) to see what the supervisor
 * does with messages a real training never sends.
 */
export function startTrainingProcessFromEntry(
  entry: string,
  input: TrainingJobInput,
  onEvent: (event: TrainingEvent) => void | Promise<void>,
  options: TrainingProcessOptions = {},
): TrainingProcessHandle {
  return spawnTrainingProcess(entry, options, undefined).train(input, onEvent, options);
}

export interface PrestartOptions {
  /** Added to this process's environment for the training (the GPU it is pinned to…). */
  env?: Record<string, string>;
  /** WORKER_CHILD_HEARTBEAT_TIMEOUT_MS, counted from the moment it is given its attempt. */
  heartbeatTimeoutMs?: number;
  /** The backend the attempts will ask for (TRAINYARD_BACKEND or the device probe's); undefined: chosen as initEngine does. */
  backend: TrainingJobInput['backend'];
  /** What the process prints before it is given an attempt (its backend's load messages). */
  onOutput?: (line: TrainingOutputLine) => void;
}

/** A training process started ahead of its attempt, loading TensorFlow.js and its backend while it waits. */
export interface PrestartedTrainingProcess {
  readonly pid: number | null;
  /** Settles when the process has exited, whether or not it was given an attempt. */
  readonly exited: Promise<void>;
  /** Gives it its attempt (once): from here on it is the attempt's process, as startTrainingProcess's. */
  train(
    input: TrainingJobInput,
    onEvent: (event: TrainingEvent) => void | Promise<void>,
    options?: Pick<TrainingProcessOptions, 'onOutput' | 'onBacklog'>,
  ): TrainingProcessHandle;
  /** Ends it, unless it was given an attempt (a training is stopped with cancel or preempt instead). */
  discard(): void;
}

/**
 * Starts a training process before its attempt exists: it loads TensorFlow.js and initialises
 * `backend` at once, then waits, quiet and unwatched, for `train`. The attempt then skips the
 * process start and the backend load (most of a job's start-up). One attempt per process still:
 * it exits after it, as any training process.
 */
export function prestartTrainingProcess(options: PrestartOptions): PrestartedTrainingProcess {
  return spawnTrainingProcess(
    'training.child',
    { ...options, env: { ...options.env, [PRESTART_BACKEND_ENV]: options.backend ?? 'auto' } },
    options.onOutput ?? echoOutput,
  );
}

function spawnTrainingProcess(
  entry: string,
  options: TrainingProcessOptions,
  idleOutput: ((line: TrainingOutputLine) => void) | undefined,
): PrestartedTrainingProcess {
  const timeoutMs = options.heartbeatTimeoutMs ?? CHILD_HEARTBEAT_TIMEOUT_DEFAULT_MS;
  const limits = options.eventBacklog ?? EVENT_BACKLOG;
  let what = 'training process (not yet given an attempt)';
  let output = idleOutput ?? options.onOutput ?? echoOutput;
  let onMessage: (message: ChildMessage) => void = () => undefined;
  let given = false;

  const child = superviseChild(compiledEntry(entry), {
    what,
    env: options.env,
    silenceTimeoutMs: timeoutMs,
    watchFrom: idleOutput ? 'start' : 'spawn',
    onOutput: (line) => output(line),
    onMessage: (message) => onMessage(message),
  });

  const train: PrestartedTrainingProcess['train'] = (input, onEvent, trainOptions = {}) => {
    if (given) throw new Error(`training process ${child.pid} was already given an attempt`);
    given = true;
    what = `training process of run ${input.runId}`;
    output = trainOptions.onOutput ?? options.onOutput ?? echoOutput;
    const backlogHook = trainOptions.onBacklog ?? options.onBacklog;
    // What the hook does (log, count) must never stop the events' delivery: its failure is only reported.
    const onBacklog = (change: BacklogChange) => {
      try {
        backlogHook?.(change);
      } catch (error) {
        output({
          stream: 'stderr',
          text: `(supervisor) reporting the event backlog failed: ${(error as Error).message}`,
        });
      }
    };
    let reported: TrainingOutcome | undefined;
    // The first reason the attempt failed here (an event not handled, a backlog past failAt): no
    // event after it is handled, and its outcome is this failure.
    let failure: string | undefined;
    let delivering: Promise<void> = Promise.resolve();
    let backlog = 0;
    let pausedAt: number | undefined;
    onMessage = (message) => {
      if (message.kind === 'outcome') {
        reported = message.outcome;
        child.finished();
      } else if (message.kind === 'event') {
        if (failure) return;
        const { event } = message;
        const items = backlogItems(event);
        backlog += items;
        if (backlog > limits.failAt) {
          failure = `${what} (pid ${child.pid}) got more than ${limits.failAt} events and metric points ahead of their handling (the database writes) without waiting, and was killed (SIGKILL)`;
          child.kill();
          return;
        }
        if (pausedAt === undefined && backlog >= limits.pauseAt) {
          pausedAt = performance.now();
          child.control(CONTROL_BYTES.pause);
          onBacklog({ paused: true, waiting: backlog, limits });
        }
        delivering = delivering.then(async () => {
          try {
            if (!failure) await onEvent(event);
          } catch (error) {
            failure ??= `handling the '${event.type}' event of run ${input.runId} failed: ${(error as Error).message}`;
            cancel();
          } finally {
            backlog -= items;
            if (pausedAt !== undefined && backlog <= limits.resumeAt) {
              const pausedMs = Math.max(0, Math.round(performance.now() - pausedAt));
              pausedAt = undefined;
              child.control(CONTROL_BYTES.resume);
              onBacklog({ paused: false, waiting: backlog, pausedMs });
            }
          }
        });
      }
    };
    const cancel = () => child.control(CONTROL_BYTES.cancel);
    const preempt = () => child.control(CONTROL_BYTES.preempt);
    child.send({ kind: 'train', input, heartbeatMs: child.heartbeatMs });

    const done = child.exited.then(async (crash): Promise<TrainingOutcome> => {
      await delivering;
      // The same process, input and code would send the same message again: not worth a retry.
      if (crash.invalidMessage !== undefined)
        return { status: 'failed', reason: describeCrash(what, crash, timeoutMs), retryable: false };
      if (failure) return { status: 'failed', reason: failure, retryable: true };
      if (reported) return reported;
      return { status: 'failed', reason: describeCrash(what, crash, timeoutMs), retryable: true, crash };
    });
    return { pid: child.pid, done, cancel, preempt };
  };

  return {
    pid: child.pid,
    exited: child.exited.then(() => undefined),
    train,
    discard: () => {
      if (!given) child.kill();
    },
  };
}

/**
 * What an event counts for in the backlog: one, plus its points for a metrics batch (what a
 * training sends by the thousand). A data report counts one whatever its lists: each replaces the
 * one before (a streamed dataset sends one per bad image it meets, up to MAX_LISTED_SKIPPED_FILES
 * of them, in a burst within one batch, each listing every skip so far), and the schema bounds
 * its lists; weighed by their entries, a shard of bad images tolerated by `maxBadFraction` could
 * outweigh `failAt` on its own and kill a training that did nothing wrong.
 */
export function backlogItems(event: TrainingEvent): number {
  return event.type === 'metrics' ? 1 + event.points.length : 1;
}

function echoOutput(line: TrainingOutputLine): void {
  process[line.stream].write(`${line.text}\n`);
}
