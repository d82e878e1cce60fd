import type { Job } from 'bullmq';
import type { RunResult, TrainingJobData } from '@trainyard/contracts';
import type { Fence } from '@trainyard/db';
import type { TrainingProcessHandle } from '@trainyard/training/supervisor';
import type { PatienceWindow } from './database-patience';
import type { AttemptLog } from './run-logs/attempt-log';

/** One training in progress on this worker: its job, its fence, and what its events taught us. */
export interface TrainingContext {
  job: Job<TrainingJobData>;
  /** BullMQ lock token; needed to put the job back in the queue on preemption. */
  token: string | undefined;
  fence: Fence;
  handle?: TrainingProcessHandle;
  /** Another attempt took the run over: stop training and write nothing more for it. */
  fenced: boolean;
  /** SIGTERM or a drain asked this training to checkpoint and stop. */
  preemptRequested: boolean;
  /** Why, for the attempt's record: "the worker was asked to stop (SIGTERM)", "the worker was drained (POST /v1/workers/:id/drain)". */
  preemptReason?: string;
  result?: RunResult;
  /** Checkpoint retention runs beside training, one pass at a time, off the event path. */
  retention: Promise<void>;
  /**
   * The outcome's one patience window, from when the training ended: the outcome's calls share it,
   * and so does a retention still waiting for the database then, which the outcome waits for.
   */
  outcomeWindow?: PatienceWindow;
  /** Lines about this attempt: to the process log and to the run's own log in the object store. */
  log: AttemptLog;
}
