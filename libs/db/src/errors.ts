/** A run id that should exist does not; the id is in the message so logs say which. */
export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`Run ${runId} not found`);
    this.name = 'RunNotFoundError';
  }
}

/** A state change that the run's current status forbids (e.g. marking a cancelled run RUNNING). */
export class RunStateError extends Error {
  constructor(
    readonly runId: string,
    readonly status: string,
    action: string,
  ) {
    super(`Run ${runId} is ${status}: cannot ${action}`);
    this.name = 'RunStateError';
  }
}

export class CheckpointNotFoundError extends Error {
  constructor(readonly checkpointId: string) {
    super(`Checkpoint ${checkpointId} not found`);
    this.name = 'CheckpointNotFoundError';
  }
}

export class InvalidCursorError extends Error {
  constructor(cursor: string, reason: string) {
    super(`Invalid run list cursor "${cursor.slice(0, 64)}": ${reason}`);
    this.name = 'InvalidCursorError';
  }
}
