// Entry point of the training worker thread (compiled to training.thread.js next to
// start-training-thread.js). It only wires worker_threads to runTrainingJob.
import { parentPort, workerData } from 'node:worker_threads';
import { runTrainingJob } from './run-training-job';
import type { TrainingJobInput, TrainingOutcome } from './training-job.types';
import { ProgressLines, type ProgressLine } from './progress-lines';
import { CANCEL_FLAG, PREEMPT_FLAG, type ThreadMessage } from './start-training-thread';

const { input, flags } = workerData as { input: TrainingJobInput; flags: Int32Array };
const port = parentPort;
if (!port) throw new Error('training.thread.js must run as a worker thread (started by startTrainingThread)');

const post = (message: ThreadMessage) => port.postMessage(message);
// What a person reads in the run's log: the parent captures this thread's stdout and stderr.
const lines = new ProgressLines();
const written: Record<ProgressLine['stream'], Promise<void>> = { stdout: Promise.resolve(), stderr: Promise.resolve() };
const print = (line: ProgressLine | undefined) => {
  if (line) written[line.stream] = new Promise((resolve) => process[line.stream].write(`${line.text}\n`, () => resolve()));
};
/**
 * A thread's stdout holds lines back until the parent has taken the ones before, and the parent
 * ends the thread as soon as the outcome arrives: the outcome waits until every line is handed over.
 */
const postOutcome = async (outcome: TrainingOutcome) => {
  await Promise.all([written.stdout, written.stderr]);
  post({ kind: 'outcome', outcome });
};

// Atomics.load sees the parent's cancel() and preempt() at once, between two batches, with no
// event-loop turn (the thread's loop is busy training and would not see a message in time).
runTrainingJob(
  input,
  (event) => {
    print(lines.describe(event));
    post({ kind: 'event', event });
  },
  () => Atomics.load(flags, CANCEL_FLAG) === 1,
  () => Atomics.load(flags, PREEMPT_FLAG) === 1,
).then(
  (outcome) => {
    if (outcome.status === 'failed') print({ stream: 'stderr', text: `training failed: ${outcome.reason}` });
    return postOutcome(outcome);
  },
  (error: unknown) => {
    print({ stream: 'stderr', text: `training failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` });
    return postOutcome({ status: 'failed', reason: String(error), retryable: true });
  },
);
