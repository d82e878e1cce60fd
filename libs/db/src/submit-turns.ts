/** How long a submit may wait in this process for the one ahead of it in its project (then SubmitsBusyError). */
export const SUBMIT_TURN_WAIT_MS = 10_000;

/** A project's submits queued longer than SUBMIT_TURN_WAIT_MS in this process: the API answers 503. */
export class SubmitsBusyError extends Error {
  constructor(readonly project: string) {
    super(`Too many submits of project ${project} are waiting for their turn; try again shortly`);
    this.name = 'SubmitsBusyError';
  }
}

/** Each project's last queued turn in this process. */
const lastTurns = new Map<string, Promise<void>>();

/**
 * Runs `submit` once every submit of `project` queued before it in this process has ended: the
 * submits of one project take its advisory lock (lockedProjectLoad) one at a time anyway, and
 * waiting here holds no pool connection, where each waiting on the lock would hold one: a burst of
 * one project's submits could take the whole pool and stall every other project's requests.
 * Across processes each holds at most one connection per project on the lock. A turn not given
 * within `waitMs` fails with SubmitsBusyError, having done nothing.
 */
export async function inSubmitTurn<T>(
  project: string,
  submit: () => Promise<T>,
  waitMs = SUBMIT_TURN_WAIT_MS,
): Promise<T> {
  const before = lastTurns.get(project);
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  // The next submit waits for this one's end, which comes only after the one before it ended.
  const turn = before ? before.then(() => ended) : ended;
  lastTurns.set(project, turn);
  try {
    if (before) await withinWait(before, waitMs, project);
    return await submit();
  } finally {
    end();
    if (lastTurns.get(project) === turn) lastTurns.delete(project);
  }
}

async function withinWait(before: Promise<void>, waitMs: number, project: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SubmitsBusyError(project)), waitMs);
  });
  try {
    await Promise.race([before, late]);
  } finally {
    clearTimeout(timer);
  }
}
