// Entry point of the training worker thread (compiled to training.thread.js next to
// start-training-thread.js). It only wires worker_threads to runTrainingJob.
import { parentPort, workerData } from 'node:worker_threads';
import { runTrainingJob } from './run-training-job';
import type { TrainingJobInput } from './training-job.types';
import { CANCEL_FLAG, PREEMPT_FLAG, type ThreadMessage } from './start-training-thread';

const { input, flags } = workerData as { input: TrainingJobInput; flags: Int32Array };
const port = parentPort;
if (!port) throw new Error('training.thread.js must run as a worker thread (started by startTrainingThread)');

const post = (message: ThreadMessage) => port.postMessage(message);

// Atomics.load sees the parent's cancel() and preempt() at once, between two batches, with no
// event-loop turn (the thread's loop is busy training and would not see a message in time).
runTrainingJob(
  input,
  (event) => post({ kind: 'event', event }),
  () => Atomics.load(flags, CANCEL_FLAG) === 1,
  () => Atomics.load(flags, PREEMPT_FLAG) === 1,
).then(
  (outcome) => post({ kind: 'outcome', outcome }),
  (error: unknown) => post({ kind: 'outcome', outcome: { status: 'failed', reason: String(error), retryable: true } }),
);
