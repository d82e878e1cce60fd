import type { FieldError, ProblemDetails } from '@trainyard/contracts';

/**
 * A followed stream the server ended before its end: the API restarted, or the key was revoked
 * (the API ends such streams). Open it again after the last item read: the next answer says which.
 */
export class StreamEndedEarlyError extends Error {
  override readonly name = 'StreamEndedEarlyError';
}

/**
 * An error answer of the Trainyard API, with its problem details body (RFC 9457) when it sent one:
 * `status`, `detail`, the bad `errors` fields of a 400 and the `requestId` to look for in the logs.
 */
export class TrainyardApiError extends Error {
  override readonly name = 'TrainyardApiError';
  readonly detail: string;
  readonly errors: FieldError[];
  readonly requestId: string | undefined;

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The parsed body: problem details from this API, or whatever a proxy in between sent (null if none). */
    readonly body: Partial<ProblemDetails> | null,
  ) {
    const detail =
      typeof body?.detail === 'string'
        ? body.detail
        : typeof body?.message === 'string'
          ? body.message
          : `HTTP ${status}`;
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    const fields = errors.length ? `: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}` : '';
    super(`${method} ${path} answered ${status}: ${detail}${fields}`);
    this.detail = detail;
    this.errors = errors;
    this.requestId = typeof body?.requestId === 'string' ? body.requestId : undefined;
  }
}
