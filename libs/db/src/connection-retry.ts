import { setTimeout as sleep } from 'node:timers/promises';

/** PostgreSQL's too_many_connections, and what Prisma's driver adapter reports it as. */
const TOO_MANY_CONNECTIONS_CODES = new Set(['53300', 'P2037']);
const TOO_MANY_CONNECTIONS_MESSAGE =
  /too many clients already|too many connections for (role|database)|remaining connection slots are reserved|Too many database connections opened/i;

/**
 * Codes and messages of a lost database connection (server restart, `pg_terminate_backend`,
 * a dropped socket, a server that stopped answering: pg's query and connect deadlines), as pg,
 * Prisma's driver adapter and Prisma itself report them.
 */
const CONNECTION_CODES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'P1001',
  'P1017',
  'P2024',
]);
const CONNECTION_MESSAGE =
  /Connection terminated|terminating connection|server closed the connection|Server has closed the connection|Connection is closed|connection error|Can't reach database server|ECONNRESET|ECONNREFUSED|Client has encountered a connection error|Query read timeout|timeout exceeded when trying to connect|the database system is (shutting down|starting up|in recovery mode)/i;

/** The fields of an error (pg's, the driver adapter's or Prisma's) these checks read. */
interface ErrorFields {
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
  meta?: unknown;
  clientVersion?: unknown;
  cause?: unknown;
}

/**
 * Whether `test` holds for `error` or an error it wraps (at most 8 deep): its `cause`, or what
 * Prisma keeps of the driver adapter's error under `meta.driverAdapterError` — where alone a raw
 * query's failure (`P2010`) keeps the server's code, `57P03` while PostgreSQL shuts down or starts.
 */
function inCauseChain(error: unknown, test: (fields: ErrorFields) => boolean): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const fields = e as ErrorFields;
    if (test(fields)) return true;
    const adapter = (fields.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
    e = fields.cause ?? adapter;
  }
  return false;
}

/**
 * True when `error` (or any error in its cause chain) is a lost or refused database connection,
 * a connection refused because the server has as many as it allows included: as passing as a
 * restart, so waited out the same way (before, Prisma's P2037 was a plain error: a 500, a failed attempt).
 */
export function isConnectionError(error: unknown): boolean {
  return hasCodeOrMessage(error, CONNECTION_CODES, CONNECTION_MESSAGE) || isTooManyConnections(error);
}

/**
 * True when PostgreSQL refused a new connection because it has as many as it allows (its
 * `max_connections`, or a role's or database's `CONNECTION LIMIT`): reachable, but full. It is a
 * connection error too (`isConnectionError`); this tells it apart for the words a person reads.
 */
export function isTooManyConnections(error: unknown): boolean {
  return hasCodeOrMessage(error, TOO_MANY_CONNECTIONS_CODES, TOO_MANY_CONNECTIONS_MESSAGE);
}

/** Whether `error` or one it wraps has one of `codes` (its own or the server's) or a message `message` matches. */
function hasCodeOrMessage(error: unknown, codes: ReadonlySet<string>, message: RegExp): boolean {
  return inCauseChain(
    error,
    (f) =>
      (typeof f.code === 'string' && codes.has(f.code)) ||
      (typeof f.originalCode === 'string' && codes.has(f.originalCode)) ||
      (typeof f.message === 'string' && message.test(f.message)),
  );
}

/** Time as `withConnectionRetry` reads and waits it; a test gives a fake one. */
export interface RetryClock {
  now(): number;
  /** Waits `ms`, or less when `signal` aborts meanwhile; never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const REAL_CLOCK: RetryClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

export interface ConnectionRetryOptions {
  /** Tries in all when no time budget holds (default 6: about 3 s with the default delays). */
  attempts?: number;
  /** The first wait; each next one doubles, up to `maxDelayMs` (default 100). */
  baseDelayMs?: number;
  /** The longest wait between two tries (default 3000). */
  maxDelayMs?: number;
  /**
   * A time budget instead of `attempts`: tries go on, as long as the connection is lost, until
   * this long has passed since the first lost one (0 or unset: `attempts` alone). Spent, it
   * throws `DatabaseOutageError`.
   */
  patienceMs?: number;
  /**
   * Which errors are a lost connection to retry (default `isConnectionError`). A `fn` that reaches
   * more than the database (the object store, files) passes one that tells the database's apart,
   * such as `databaseUnavailable(e) === 'unreachable'`.
   */
  retryOn?: (error: unknown) => boolean;
  /** Once aborted (the process is stopping), a wait under way ends at once and the next lost connection is the last. */
  signal?: AbortSignal;
  /** Each lost connection that will be tried again: which try lost it, and how long since the first. */
  onRetry?: (error: unknown, attempt: number, awayMs: number) => void;
  /** The database answered again (a result, or an error of its own) after `awayMs` of lost connections. */
  onRecovered?: (awayMs: number, attempts: number) => void;
  clock?: RetryClock;
}

/**
 * Thrown by `withConnectionRetry` when its time budget (`patienceMs`) is spent: the database was
 * unreachable all along. The last lost connection is its `cause`, so `isConnectionError` still
 * holds for it.
 */
export class DatabaseOutageError extends Error {
  constructor(
    readonly awayMs: number,
    readonly attempts: number,
    cause: unknown,
    stopping: boolean,
  ) {
    super(
      `the database was unreachable for ${Math.round(awayMs / 1000)} s (${attempts} ${attempts === 1 ? 'try' : 'tries'}` +
        `${stopping ? ', given up as the process stops' : ''}): ${databaseErrorLine(cause)}`,
      { cause },
    );
    this.name = 'DatabaseOutageError';
  }
}

/**
 * What a database error says in one line, for a log or a failure reason: Prisma's messages open
 * with "Invalid `prisma.x()` invocation:" and the code around it; the driver's own words come last.
 */
export function databaseErrorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? message;
}

/**
 * Retries `fn` when the connection was lost: `attempts` times, or for `patienceMs`. Only for
 * writes that are safe to repeat (upserts, fenced conditional updates, inserts that tolerate their
 * own earlier commit) and for reads: a connection can drop after the server committed, before the
 * reply arrived. Only a lost connection is retried (`retryOn`), not a statement the server
 * cancelled at its deadline: the server answers, and waiting longer on it would only add load.
 */
export async function withConnectionRetry<T>(fn: () => Promise<T>, opts: ConnectionRetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 100;
  const maxDelay = opts.maxDelayMs ?? 3000;
  const patienceMs = opts.patienceMs ?? 0;
  const clock = opts.clock ?? REAL_CLOCK;
  const lost = opts.retryOn ?? isConnectionError;
  /** When the first lost connection came back; undefined while none was lost. */
  let since: number | undefined;
  const recovered = (attempt: number) => {
    if (since !== undefined) opts.onRecovered?.(clock.now() - since, attempt);
  };
  for (let attempt = 1; ; attempt++) {
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      if (!lost(error)) {
        recovered(attempt);
        throw error;
      }
      const now = clock.now();
      since ??= now;
      const awayMs = now - since;
      const stopping = opts.signal?.aborted ?? false;
      if (stopping || (patienceMs > 0 ? awayMs >= patienceMs : attempt >= attempts)) {
        if (patienceMs <= 0) throw error;
        throw new DatabaseOutageError(awayMs, attempt, error, stopping);
      }
      opts.onRetry?.(error, attempt, awayMs);
      const delay = Math.min(base * 2 ** (attempt - 1), maxDelay);
      // The last try falls due as the budget ends, not a whole delay past it.
      await clock.sleep(patienceMs > 0 ? Math.min(delay, patienceMs - awayMs) : delay, opts.signal);
      continue;
    }
    recovered(attempt);
    return result;
  }
}

/**
 * True when PostgreSQL cancelled a statement that ran past `statement_timeout`
 * (DATABASE_QUERY_TIMEOUT_MS): the server answers, but not within the deadline.
 */
export function isStatementTimeout(error: unknown): boolean {
  return inCauseChain(
    error,
    (f) =>
      f.code === '57014' ||
      f.originalCode === '57014' ||
      (f.meta as { code?: unknown } | undefined)?.code === '57014' ||
      // Prisma's raw-query error carries the server's code only in its message ("Code: `57014`").
      (typeof f.message === 'string' && /Code: `57014`|canceling statement due to statement timeout/i.test(f.message)),
  );
}

/**
 * Whether the database failed to serve `error`'s query in time or at all (lost, refused or silent
 * connection, statement timeout), as opposed to refusing it: only errors from the database client
 * (Prisma's carry `clientVersion`) count, so another service's socket error is not taken for it.
 */
export function databaseUnavailable(error: unknown): 'timeout' | 'unreachable' | null {
  if (!inCauseChain(error, (f) => typeof f.clientVersion === 'string')) return null;
  if (isStatementTimeout(error)) return 'timeout';
  return isConnectionError(error) ? 'unreachable' : null;
}
