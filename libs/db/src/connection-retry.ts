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

/** True when `error` (or any error in its cause chain) is a lost or refused database connection. */
export function isConnectionError(error: unknown): boolean {
  return inCauseChain(
    error,
    (f) =>
      (typeof f.code === 'string' && CONNECTION_CODES.has(f.code)) ||
      (typeof f.originalCode === 'string' && CONNECTION_CODES.has(f.originalCode)) ||
      (typeof f.message === 'string' && CONNECTION_MESSAGE.test(f.message)),
  );
}

export interface ConnectionRetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Retries `fn` when the connection was lost. Only for writes that are safe to repeat (upserts,
 * fenced conditional updates, inserts that tolerate their own earlier commit): a connection can
 * drop after the server committed, before the reply arrived.
 */
export async function withConnectionRetry<T>(fn: () => Promise<T>, opts: ConnectionRetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isConnectionError(error)) throw error;
      opts.onRetry?.(error, attempt);
      await new Promise((r) => setTimeout(r, Math.min(base * 2 ** (attempt - 1), 3000)));
    }
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
