import type { FieldError, ProblemDetails, RunDeletionBlocker } from '@trainyard/contracts';

/**
 * A followed stream the server ended before its end: the API restarted, or the key was revoked
 * (the API ends such streams). Open it again after the last item read: the next answer says which.
 */
export class StreamEndedEarlyError extends Error {
  override readonly name = 'StreamEndedEarlyError';
}

/**
 * The API was not reached at `url`, or the connection ended before its answer began: no server
 * there, a name that does not resolve, a refused TLS handshake, a proxy that hung up. fetch's own
 * error (a TypeError "fetch failed" in Node, naming no URL) is the `cause`, and its cause the
 * system's (`ECONNREFUSED`…) where there is one. An aborted call is not one of these: it rejects
 * with the signal's reason (an `AbortError`) as fetch does.
 */
export class TrainyardConnectionError extends Error {
  override readonly name = 'TrainyardConnectionError';
  /** The system's error code where fetch's error gave one (`ECONNREFUSED`, `ENOTFOUND`…). */
  readonly code: string | undefined;

  constructor(
    readonly method: string,
    readonly url: string,
    cause: unknown,
  ) {
    const reason = reasonOf(cause);
    super(`${method} ${url} could not reach the API${reason ? `: ${reason}` : ''}`, { cause });
    this.code = codeOf(cause);
  }
}

/** What fetch's error says went wrong: Node's "fetch failed" says it in its causes (some with only a code). */
function reasonOf(error: unknown): string {
  const said = causes(error)
    .map((e) => (e as { message?: unknown }).message)
    .filter((m): m is string => typeof m === 'string' && m !== '' && m !== 'fetch failed');
  return said.join(': ') || codeOf(error) || (error instanceof Error ? error.message : String(error));
}

function codeOf(error: unknown): string | undefined {
  const code = causes(error)
    .map((e) => (e as { code?: unknown }).code)
    .find((c) => typeof c === 'string');
  return code as string | undefined;
}

/** An error and its causes, outermost first; at most 5, as a cause may lead back to its error. */
function causes(error: unknown): object[] {
  const chain: object[] = [];
  for (let e = error; typeof e === 'object' && e !== null && chain.length < 5; e = (e as { cause?: unknown }).cause)
    chain.push(e);
  return chain;
}

/**
 * An error answer of the Trainyard API, with its problem details body (RFC 9457) when it sent one:
 * `status`, `detail`, the bad `errors` fields of a 400, the `blockers` of a refused run deletion
 * (409) and the `requestId` to look for in the logs.
 */
export class TrainyardApiError extends Error {
  override readonly name = 'TrainyardApiError';
  readonly detail: string;
  readonly errors: FieldError[];
  /** What keeps a run from being deleted, each naming what is in the way (a 409 of deleteRun); empty otherwise. */
  readonly blockers: RunDeletionBlocker[];
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
    // A field whose message the detail already says (a 409's blockers, an in-use conflict) is not said twice.
    const unsaid = errors.filter((e) => typeof e.message !== 'string' || !detail.includes(e.message));
    const fields = unsaid.length ? `: ${unsaid.map((e) => `${e.field}: ${e.message}`).join('; ')}` : '';
    super(`${method} ${path} answered ${status}: ${detail}${fields}`);
    this.detail = detail;
    this.errors = errors;
    this.blockers = Array.isArray(body?.['blockers']) ? (body['blockers'] as RunDeletionBlocker[]) : [];
    this.requestId = typeof body?.requestId === 'string' ? body.requestId : undefined;
  }
}
