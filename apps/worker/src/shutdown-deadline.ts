import { WORKER_SHUTDOWN_MARGIN_MS } from '@trainyard/config';
import { exitAfterShutdownSignal } from '@trainyard/infrastructure';

/**
 * How long past WORKER_SHUTDOWN_TIMEOUT_MS a stopping worker may still take: the run logs' last
 * write, the PING that says why a job was left behind, marking itself stopped and closing its
 * connections. Past it the process exits whatever still waits (exitPastShutdownDeadline). Its home
 * is @trainyard/config, where the demo reads it too.
 */
export const SHUTDOWN_MARGIN_MS = WORKER_SHUTDOWN_MARGIN_MS;

/** What the shutdown leaves InfrastructureShutdown, within the margin, to close its connections. */
export const CLOSING_CONNECTIONS_MS = 300;

/**
 * The backstop of the shutdown deadline, armed at the first of `signals`: SHUTDOWN_MARGIN_MS past
 * `timeoutMs` the process exits, whatever its shutdown still waits on (exitAfterShutdownSignal).
 */
export function exitPastShutdownDeadline(
  timeoutMs: number,
  warn: (message: string) => void,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
  exit: () => void = () => process.exit(1),
): void {
  exitAfterShutdownSignal(
    timeoutMs + SHUTDOWN_MARGIN_MS,
    `shutdown not done ${SHUTDOWN_MARGIN_MS} ms past its deadline (${timeoutMs} ms, WORKER_SHUTDOWN_TIMEOUT_MS): exiting without closing its connections`,
    warn,
    signals,
    exit,
  );
}

/** What a stopping worker still holds when its shutdown deadline passes (WorkerHost). */
export interface HeldAtDeadline {
  timeoutMs: number;
  /** The runs whose attempt has not ended (ActiveTrainings.runIds), those finishing it included. */
  training: readonly string[];
  /** Those among them whose training has ended and whose attempt finishes: its checkpoint retention, its outcome. */
  finishing: readonly string[];
  /** The jobs (a run's job id is its run id) taken and not yet handed back to BullMQ, those training included. */
  held: readonly string[];
  /** Where Redis is, and why it does not answer (null: it answers). */
  redis: { endpoint: string; problem: string | null };
}

/**
 * The line a worker logs as it exits past its shutdown deadline: how many jobs it leaves and what
 * each waits for, a training that has not stopped, an attempt whose training ended still finishing
 * (its retention, its outcome), or a job not yet put back in the queue (and why: Redis not
 * answering, or what its attempt's end still waits on), so the count is never "0 trainings" while
 * a job is in fact left behind, nor "still training" for a training process that has exited.
 */
export function shutdownDeadlineMessage({ timeoutMs, training, finishing, held, redis }: HeldAtDeadline): string {
  const head = `shutdown deadline (${timeoutMs} ms) passed`;
  const redisDown = redis.problem === null ? null : `Redis at ${redis.endpoint} does not answer (${redis.problem})`;
  if (held.length === 0)
    return `${head} with no job held, but BullMQ had not finished with Redis${redisDown ? `: ${redisDown}` : ''}; exiting`;
  const stillTraining = held.filter((id) => training.includes(id) && !finishing.includes(id));
  const finishingAttempt = held.filter((id) => training.includes(id) && finishing.includes(id));
  const notBack = held.filter((id) => !training.includes(id));
  const parts: string[] = [];
  if (stillTraining.length > 0)
    parts.push(`${stillTraining.length} still training, not stopped at a checkpoint yet (${runs(stillTraining)})`);
  if (finishingAttempt.length > 0)
    parts.push(
      `${finishingAttempt.length} finishing ${finishingAttempt.length === 1 ? 'its attempt' : 'their attempts'}, training ended (${runs(finishingAttempt)}): ` +
        'checkpoint retention or the outcome waits on PostgreSQL or the object store',
    );
  if (notBack.length > 0)
    parts.push(
      `${notBack.length} not yet put back in the queue (${runs(notBack)}): ${redisDown ?? 'waiting on PostgreSQL or the object store'}`,
    );
  return (
    `${head} with ${held.length} job(s) held${stillTraining.length === 0 ? ' and none training' : ''}: ${parts.join('; ')}; ` +
    'exiting without them: another worker takes them over once their locks expire'
  );
}

function runs(ids: readonly string[]): string {
  return `${ids.length === 1 ? 'run' : 'runs'} ${ids.join(', ')}`;
}
