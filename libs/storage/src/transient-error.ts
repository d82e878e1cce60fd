import { backOff } from 'exponential-backoff';

/** Socket-level failures: the store restarted, a load balancer dropped us, DNS hiccupped. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

/**
 * minio's S3Error carries the S3 error code but not the HTTP status, so 5xx that reach it are
 * recognised by the codes S3 and MinIO send with them.
 */
const TRANSIENT_S3_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'SlowDownRead',
  'SlowDownWrite',
  'RequestTimeout',
  'OperationTimedOut',
  'XMinioServerNotInitialized',
  'XMinioStorageFull', // not transient in theory, but MinIO sends it while a disk heals
]);

/**
 * True for errors worth retrying: network errors and 5xx/throttling. 4xx (AccessDenied,
 * NoSuchBucket, InvalidArgument…) fail at once: repeating the same request cannot fix them.
 */
export function isTransientStorageError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
  // A local store's disk full: as MinIO's XMinioStorageFull below, room comes back once freed.
  if (e.name === 'StoreFullError') return true;
  if (e.name === 'S3Error') {
    if (typeof e.code === 'string' && TRANSIENT_S3_CODES.has(e.code)) return true;
    // A bodiless reply with a status minio has no name for (502, 504 from a proxy in front of the
    // store) arrives with an empty code; every 4xx minio can see gets a name or an XML body.
    if (e.code === '' || e.code === undefined) return true;
  }
  // minio answers 408, 429, 499, 5xx and 520 from its own retry loop, even with retries disabled,
  // as a plain Error whose message alone keeps the status.
  if (typeof e.message === 'string' && /Retryable HTTP status: (408|429|499|5\d\d)\b/.test(e.message)) return true;
  if (e.cause && e.cause !== error) return isTransientStorageError(e.cause);
  return false;
}

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 5000 };

/** Runs `fn`, retrying transient storage errors with full-jitter exponential backoff. */
export function withStorageRetry<T>(fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
  return backOff(fn, {
    numOfAttempts: policy.attempts,
    startingDelay: policy.initialDelayMs,
    maxDelay: policy.maxDelayMs,
    timeMultiple: 2,
    // Full jitter spreads a fleet of workers that all hit the same SlowDown at once.
    jitter: 'full',
    delayFirstAttempt: false,
    retry: (error) => isTransientStorageError(error),
  });
}
