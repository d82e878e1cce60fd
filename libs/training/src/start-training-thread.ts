import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TrainingEvent, TrainingJobInput, TrainingOutcome } from './training-job.types';
import { captureOutputLines, type TrainingOutputLine } from './training-output';

export type ThreadMessage = { kind: 'event'; event: TrainingEvent } | { kind: 'outcome'; outcome: TrainingOutcome };

export interface TrainingThreadHandle {
  /** Settles after the thread has exited and every onEvent call has settled; never rejects. */
  done: Promise<TrainingOutcome>;
  /** Asks the thread to stop between two batches; it then ends 'cancelled'. */
  cancel(): void;
  /**
   * Asks the thread to finish the current batch, checkpoint that position (unless nothing was
   * trained since the last checkpoint) and end 'preempted'. During loading or validation it stops
   * at the next such point; a cancel() takes precedence.
   */
  preempt(): void;
}

export interface TrainingThreadOptions {
  /**
   * Each line the training prints on stdout or stderr, in order. Without it the lines go to this
   * process's own stdout and stderr, as they would if the thread printed there itself.
   */
  onOutput?: (line: TrainingOutputLine) => void;
}

/** After the thread exits, how long its last output may take to arrive before `done` settles anyway. */
const OUTPUT_DRAIN_MS = 2000;

/** Indexes into the Int32Array shared with the thread: set to 1 to request. */
export const CANCEL_FLAG = 0;
export const PREEMPT_FLAG = 1;

/**
 * The compiled thread entry. Under Jest this module runs from its TypeScript source, and a
 * worker cannot load .ts, so the copy built by `node tools/build.mjs libs` into dist/ is used.
 */
export function trainingThreadFile(): string {
  if (!__filename.endsWith('.ts')) return join(__dirname, 'training.thread.js');
  const built = resolve(__dirname, '../../../dist/libs/training/src/training.thread.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`node tools/build.mjs libs\` first`);
  return built;
}

/**
 * Trains in a worker_threads Worker so the caller's event loop (BullMQ lock renewal, database
 * writes) is never blocked. Events reach `onEvent` in order, one at a time; if `onEvent` fails,
 * training is cancelled and the outcome is a retryable failure naming the event. What the thread
 * prints reaches `options.onOutput` line by line, all of it before `done` settles.
 */
export function startTrainingThread(
  input: TrainingJobInput,
  onEvent: (event: TrainingEvent) => void | Promise<void>,
  options: TrainingThreadOptions = {},
): TrainingThreadHandle {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const cancel = () => Atomics.store(flags, CANCEL_FLAG, 1);
  const preempt = () => Atomics.store(flags, PREEMPT_FLAG, 1);
  const worker = new Worker(trainingThreadFile(), { workerData: { input, flags }, name: `training-${input.runId}`, stdout: true, stderr: true });
  const output = captureOutputLines({ stdout: worker.stdout, stderr: worker.stderr }, options.onOutput ?? echoOutput);

  let reported: TrainingOutcome | undefined;
  let threadError: Error | undefined;
  let eventError: string | undefined;
  let delivering: Promise<void> = Promise.resolve();

  worker.on('message', (message: ThreadMessage) => {
    if (message.kind === 'outcome') {
      reported = message.outcome;
      // Everything is reported; don't wait for tfjs's handles to let the thread go on its own.
      void worker.terminate();
      return;
    }
    delivering = delivering.then(async () => {
      if (eventError) return;
      try {
        await onEvent(message.event);
      } catch (error) {
        eventError = `handling the '${message.event.type}' event of run ${input.runId} failed: ${(error as Error).message}`;
        cancel();
      }
    });
  });
  worker.on('error', (error) => (threadError = error));

  const done = new Promise<number>((resolveExit) => worker.once('exit', resolveExit)).then(async (code) => {
    await delivering;
    await settledWithin(output, OUTPUT_DRAIN_MS);
    if (eventError) return { status: 'failed', reason: eventError, retryable: true } as const;
    if (reported) return reported;
    const why = threadError ? threadError.message : `exit code ${code}`;
    return { status: 'failed', reason: `training thread of run ${input.runId} ended unexpectedly (${why})`, retryable: true } as const;
  });
  return { done, cancel, preempt };
}

function echoOutput(line: TrainingOutputLine): void {
  process[line.stream].write(`${line.text}\n`);
}

function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
