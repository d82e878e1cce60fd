// Entry point of the training worker thread (compiled to training.thread.js next to
// start-training-thread.js). It only wires worker_threads to runTrainingJob.
import { parentPort, workerData } from 'node:worker_threads';
import { runTrainingJob } from './run-training-job';
import type { TrainingJobInput } from './training-job.types';
import type { ThreadMessage } from './start-training-thread';

const { input, cancelFlag } = workerData as { input: TrainingJobInput; cancelFlag: Int32Array };
const port = parentPort;
if (!port) throw new Error('training.thread.js must run as a worker thread (started by startTrainingThread)');

const post = (message: ThreadMessage) => port.postMessage(message);

// Atomics.load sees the parent's cancel() at once, between two batches, with no event-loop turn.
runTrainingJob(
  input,
  (event) => post({ kind: 'event', event }),
  () => Atomics.load(cancelFlag, 0) === 1,
).then(
  (outcome) => post({ kind: 'outcome', outcome }),
  (error: unknown) => post({ kind: 'outcome', outcome: { status: 'failed', reason: String(error), retryable: true } }),
);
