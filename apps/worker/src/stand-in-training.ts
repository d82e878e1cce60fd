import { testOnlySetting } from '@trainyard/config';
import type { TrainingProcessHandle } from '@trainyard/training/supervisor';

/** Test-only (`TRAINYARD_TEST_NO_TRAINING_PROCESS=1` under NODE_ENV=test): attempts get `standInTraining` instead of a process. */
export function trainsWithoutProcess(): boolean {
  return testOnlySetting('noTrainingProcess') === '1';
}

/**
 * An attempt's training with the training process left out: nothing is trained, no process is
 * started, and it succeeds at once. Everything around it (the job, the fenced attempt, the run's
 * log, the outcome) is the worker's real path, so `bench:dispatch` can measure the orchestration's
 * own rate beside raw BullMQ.
 */
export function standInTraining(): TrainingProcessHandle {
  return {
    pid: null,
    done: Promise.resolve({ status: 'succeeded' }),
    cancel: () => undefined,
    preempt: () => undefined,
  };
}
