/** A run id that should exist does not; the id is in the message so logs say which. */
export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`Run ${runId} not found`);
    this.name = 'RunNotFoundError';
  }
}

/**
 * A worker's heartbeat found no row of its own: PostgreSQL was restored from a backup taken before
 * the worker registered. It must register again, or every attempt it opens would break the
 * attempts' foreign key to it.
 */
export class WorkerNotFoundError extends Error {
  constructor(readonly workerId: string) {
    super(`Worker ${workerId} is not in the database (restored from a backup taken before it registered?)`);
    this.name = 'WorkerNotFoundError';
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

/** A project already trains as many runs as its limit (its own, else PROJECT_MAX_RUNNING) allows: the run waits. */
export class ProjectAtCapacityError extends Error {
  constructor(
    readonly project: string,
    readonly limit: number,
  ) {
    super(`Project ${project} is at its limit of ${limit} run${limit === 1 ? '' : 's'} training at once`);
    this.name = 'ProjectAtCapacityError';
  }
}

/**
 * PostgreSQL refused or did not answer a process's first connection (a wrong URL, a database that
 * does not exist, a server that is down): the message names the URL (redacted), the setting and why.
 */
export class DatabaseUnreachableError extends Error {
  constructor(url: string, reason: string, options?: ErrorOptions) {
    super(`Cannot connect to PostgreSQL at ${url} (DATABASE_URL): ${reason}`, options);
    this.name = 'DatabaseUnreachableError';
  }
}

export class CheckpointNotFoundError extends Error {
  constructor(readonly checkpointId: string) {
    super(`Checkpoint ${checkpointId} not found`);
    this.name = 'CheckpointNotFoundError';
  }
}

export class InvalidCursorError extends Error {
  /** `list`: which list the cursor was given to (`run`, `sweeps`, `models`…). */
  constructor(cursor: string, reason: string, list = 'run') {
    super(`Invalid ${list} list cursor "${cursor.slice(0, 64)}": ${reason}`);
    this.name = 'InvalidCursorError';
  }
}

/**
 * A worker wrote for a run whose current attempt is no longer its own: another worker took the
 * job over (this one lost its lock, e.g. it was paused past lockDuration). The write did not
 * happen; the worker must stop training that run and leave the run alone.
 */
export class FencedError extends Error {
  constructor(
    readonly runId: string,
    readonly attemptId: string,
    action: string,
    readonly currentAttemptId: string | null,
  ) {
    super(
      `Attempt ${attemptId} of run ${runId} was fenced off (the run's current attempt is ${currentAttemptId ?? 'none'}): cannot ${action}`,
    );
    this.name = 'FencedError';
  }
}

/**
 * A submitted spec refers to something it cannot use (a base run not SUCCEEDED, an unregistered
 * dataset, a model file outside the roots…): `summary` says what, `field` which field of the spec,
 * `why` the reason, for the 422 that names the field.
 */
export class RunReferenceRefusedError extends Error {
  constructor(
    readonly summary: string,
    readonly field: string,
    readonly why: string,
  ) {
    super(`${summary}: ${field}: ${why}`);
    this.name = 'RunReferenceRefusedError';
  }
}

/**
 * PostgreSQL refused a row whose reference is gone (a foreign key, Prisma's P2003): what a request
 * that pins a run or checkpoint gets when a deletion of it, holding their lock, went first.
 */
export function isReferenceGone(error: unknown): boolean {
  const fields = error as { code?: unknown; clientVersion?: unknown } | null;
  return typeof fields?.clientVersion === 'string' && fields.code === 'P2003';
}
