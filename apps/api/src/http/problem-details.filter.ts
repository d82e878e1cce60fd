import type { IncomingMessage, ServerResponse } from 'node:http';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FieldError, ProblemDetails } from '@trainyard/contracts';
import {
  CheckpointNotFoundError,
  DatasetNameTakenError,
  FencedError,
  databaseUnavailable,
  InvalidCursorError,
  isReferenceGone,
  isTooManyConnections,
  RunNotFoundError,
  RunReferenceRefusedError,
  RunStateError,
  SubmitsBusyError,
} from '@trainyard/db';
import { RedisUnavailableError } from '@trainyard/queue';
import {
  InvalidObjectKeyError,
  isTransientStorageError,
  ObjectNotFoundError,
  StorageRequestError,
  StoreFullError,
} from '@trainyard/storage';
import { requestIdOf } from '../logging/request-id';

/**
 * A domain error this API knows, as status, message, (where there is one) the field at fault, and
 * (for a dependency that is full) the seconds a client should wait before it tries again.
 */
type Mapped = { status: number; message: string; errors?: FieldError[]; retryAfterS?: number };

/**
 * Retry-After of a 503 for a database at its connection limit: a place frees as soon as another
 * client's query ends, but clients retrying at once only keep it full.
 */
export const DATABASE_FULL_RETRY_AFTER_S = 2;

/**
 * Domain errors from the libraries, mapped once here rather than caught and re-thrown by hand in
 * each service. Anything not listed (and not an HttpException) is a 500 whose detail says nothing
 * about internals; it is logged with its stack and the request id.
 */
function mapDomainError(error: unknown): Mapped | undefined {
  if (
    error instanceof RunNotFoundError ||
    error instanceof CheckpointNotFoundError ||
    error instanceof ObjectNotFoundError
  ) {
    return { status: HttpStatus.NOT_FOUND, message: error.message };
  }
  if (error instanceof RunStateError || error instanceof FencedError || error instanceof DatasetNameTakenError) {
    return { status: HttpStatus.CONFLICT, message: error.message };
  }
  if (error instanceof InvalidCursorError)
    return {
      status: HttpStatus.BAD_REQUEST,
      message: 'Invalid query',
      errors: [{ field: 'cursor', message: error.message }],
    };
  if (error instanceof InvalidObjectKeyError) return { status: HttpStatus.BAD_REQUEST, message: error.message };
  if (error instanceof RunReferenceRefusedError) {
    return {
      status: HttpStatus.UNPROCESSABLE_ENTITY,
      message: error.summary,
      errors: [{ field: error.field, message: error.why }],
    };
  }
  if (isReferenceGone(error))
    return {
      status: HttpStatus.CONFLICT,
      message: 'A run or checkpoint this request refers to was deleted meanwhile',
    };
  if (error instanceof SubmitsBusyError) return { status: HttpStatus.SERVICE_UNAVAILABLE, message: error.message };
  if (error instanceof RedisUnavailableError) {
    return { status: HttpStatus.SERVICE_UNAVAILABLE, message: error.message };
  }
  const database = databaseUnavailable(error);
  if (database && isTooManyConnections(error))
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message:
        'The database refuses new connections: it has as many as it allows (max_connections, or the role’s or database’s CONNECTION LIMIT); try again shortly',
      retryAfterS: DATABASE_FULL_RETRY_AFTER_S,
    };
  if (database)
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message:
        database === 'timeout'
          ? 'The database did not finish the query within its deadline; try again shortly'
          : 'The database is unreachable or not answering; try again shortly',
    };
  // A local object store's disk is full (a write outside an upload, which answers its own 503): the path goes to the log only.
  if (error instanceof StoreFullError)
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: 'The object store has no space left on its disk; try again once an operator has freed space',
    };
  // The object store refused or did not answer past its client's retries (a run's log, a download).
  if (error instanceof StorageRequestError && isTransientStorageError(error))
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: 'The object store is unreachable or not answering; try again shortly',
    };
  return undefined;
}

/**
 * Every error answer, in one shape (ProblemDetails, libs/contracts/src/http): RFC 9457 problem
 * details served as `application/problem+json`, plus the fields this API has always sent
 * (`statusCode`, `error`, `message`, `errors: [{ field, message }]`) and the request id, so a
 * report can be matched to the log lines.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.answer(exception, http.getRequest<IncomingMessage>(), http.getResponse<ServerResponse>());
  }

  /** Answers `exception` as a problem: also for middleware outside Nest's pipeline (authenticate-early.ts). */
  answer(exception: unknown, req: IncomingMessage, res: ServerResponse): void {
    const mapped = exception instanceof HttpException ? undefined : mapDomainError(exception);
    const problem = this.toProblem(exception, requestIdOf(req), mapped);
    if (problem.status >= 500) {
      const error = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.error(
        `${req.method} ${req.url} failed (request ${problem.requestId ?? '-'}): ${error.message}`,
        error.stack,
      );
    }
    // A stream (SSE, a download) that failed after its first byte cannot change its status: end it.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (mapped?.retryAfterS !== undefined) res.setHeader('retry-after', String(mapped.retryAfterS));
    sendProblem(res, problem);
  }

  /** `mapped`: the domain error's mapping when the caller has it already (mapDomainError), made here otherwise. */
  toProblem(
    exception: unknown,
    requestId: string | undefined,
    mapped = exception instanceof HttpException ? undefined : mapDomainError(exception),
  ): ProblemDetails {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const fields = typeof response === 'string' ? { message: response } : (response as Record<string, unknown>);
      return problem(status, { ...fields, message: messageOf(fields['message'], exception.message) }, requestId);
    }
    if (mapped)
      return problem(
        mapped.status,
        { message: mapped.message, ...(mapped.errors ? { errors: mapped.errors } : {}) },
        requestId,
      );
    return problem(HttpStatus.INTERNAL_SERVER_ERROR, { message: 'Internal server error' }, requestId);
  }
}

/** Writes a problem body as the whole answer (also used by the middleware that refuses before routing). */
export function sendProblem(res: ServerResponse, body: ProblemDetails): void {
  const text = JSON.stringify(body);
  res.statusCode = body.status;
  res.setHeader('content-type', 'application/problem+json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

export function problem(
  status: number,
  fields: Record<string, unknown> & { message: string },
  requestId: string | undefined,
): ProblemDetails {
  const title = typeof fields['error'] === 'string' ? fields['error'] : reasonPhrase(status);
  return {
    ...fields,
    type: 'about:blank',
    title,
    status,
    detail: fields.message,
    statusCode: status,
    error: title,
    message: fields.message,
    ...(requestId ? { requestId } : {}),
  };
}

/** Nest's own exceptions may carry `message` as a list (class-validator style); problem details want one string. */
function messageOf(value: unknown, fallback: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(String).join('; ');
  return fallback;
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  if (!name) return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join(' ');
}
