/** An S3 call that failed for good (after retries): says what was attempted, on which key, where. */
export class StorageRequestError extends Error {
  /** The S3 or socket error code when there is one (AccessDenied, SlowDown, ECONNREFUSED…). */
  readonly code: string | undefined;

  constructor(
    readonly operation: string,
    readonly key: string,
    readonly store: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    super(`${operation} ${JSON.stringify(key)} on ${store} failed: ${detail}${code ? ` (${String(code)})` : ''}`, {
      cause,
    });
    this.name = 'StorageRequestError';
    this.code = typeof code === 'string' && code !== '' ? code : undefined;
  }
}
