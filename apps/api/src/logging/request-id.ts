import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { withLogFields } from '@trainyard/config';

export const REQUEST_ID_HEADER = 'x-request-id';
/** What an incoming X-Request-Id may look like to be kept (a proxy's or a client's id); anything else is replaced. */
const WELL_FORMED = /^[A-Za-z0-9._-]{1,64}$/;

const ids = new WeakMap<IncomingMessage, string>();

/**
 * First on every request: keeps a well-formed incoming X-Request-Id (so one id follows a call
 * through a proxy and into these logs) or makes a UUID, and echoes it in the response, refusals
 * included.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const incoming = req.headers[REQUEST_ID_HEADER];
  const id = typeof incoming === 'string' && WELL_FORMED.test(incoming) ? incoming : randomUUID();
  ids.set(req, id);
  res.setHeader(REQUEST_ID_HEADER, id);
  next();
}

/**
 * After the body parser (whose stream callbacks would lose it): everything that handles the
 * request from here logs with its `requestId`, error lines from Nest's exception handler included.
 */
export function logWithRequestId(req: IncomingMessage, _res: ServerResponse, next: () => void): void {
  const requestId = ids.get(req);
  if (requestId) withLogFields({ requestId }, next);
  else next();
}

/** The id `assignRequestId` gave this request (problem bodies carry it, so a report can name the log lines). */
export function requestIdOf(req: IncomingMessage): string | undefined {
  return ids.get(req);
}
